/**
 * `admin.allowed_hosts` reaches the admin API of a running luascale (issue 14 item 2): a name it
 * lists is served, any other name gets 403 LS_ERR_ADMIN_BAD_HOST (DNS rebinding), and `*` turns
 * the check off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

async function hostStatuses(allowedHosts: string, hosts: string[]): Promise<number[]> {
  const upstream = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-hosts-'));
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0", allowed_hosts: ${allowedHosts} }
store: { sqlite: "${dir}/h.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 2, interval: 1h }
`;
  const file = join(dir, 'luascale.yaml');
  const app = await startApp({ config: parseConfig(text, file), file, baseDir: dir }, { log: () => {} });
  try {
    const out: number[] = [];
    for (const host of hosts) {
      const res = await request(`${app.adminUrl}/v1/services`, { headers: { host } });
      await res.body.dump();
      out.push(res.statusCode);
    }
    return out;
  } finally {
    await app.close({ graceMs: 100 });
    upstream.close();
  }
}

test('admin.allowed_hosts admits the names it lists and no others', { timeout: 30_000 }, async () => {
  assert.deepEqual(
    await hostStatuses('["admin.internal.example"]', [
      'admin.internal.example:9090',
      'evil.example',
      'localhost',
    ]),
    [200, 403, 200],
  );
});

test('admin.allowed_hosts: ["*"] accepts any Host', { timeout: 30_000 }, async () => {
  assert.deepEqual(await hostStatuses('["*"]', ['evil.example', 'localhost']), [200, 200]);
});
