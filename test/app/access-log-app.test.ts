/**
 * `gateway.access_log` in `luascale up`: one JSON line per request in the configured file, from
 * one process or from every worker of `workers: 2`; `sampled` keeps every 5xx and the configured
 * fraction of the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { getStatus } from '../helpers/get-status.js';

async function run(
  gateway: string,
  paths: string[],
): Promise<{ statuses: number[]; lines: Record<string, unknown>[] }> {
  const upstream = createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-al-'));
  let app: LuascaleApp | undefined;
  try {
    const text = `
gateway: { listen: "127.0.0.1:0", ${gateway}, access_log_file: "logs/access.log" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/luascale.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, interval: 1s, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
    let wake: () => void = () => {};
    const nextDecision = () => new Promise<void>((r) => (wake = r));
    app = await startApp(
      {
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      },
      { onDecision: () => wake() },
    );
    for (let i = 0; i < 10 && app.gateway.instances('web').length === 0; i++) await nextDecision();
    const statuses: number[] = [];
    for (const p of paths) statuses.push(await getStatus(`${app.gatewayUrl}${p}`));
    await app.close({ graceMs: 1000 }); // flushes and closes the log (each worker's too)
    app = undefined;
    const lines = readFileSync(join(dir, 'logs/access.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { statuses, lines };
  } finally {
    await app?.close({ graceMs: 100 });
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const workers of [1, 2]) {
  test(
    `access_log: full writes one line per request (workers: ${workers})`,
    { timeout: 60_000 },
    async () => {
      const paths = ['/a', '/b', '/c', '/d', '/e', '/f'];
      const { statuses, lines } = await run(`access_log: full, workers: ${workers}`, paths);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      assert.equal(lines.length, 6);
      assert.deepEqual(lines.map((l) => l.path).sort(), paths);
      for (const l of lines) {
        assert.equal(l.status, 200);
        assert.equal(l.service, 'web');
        assert.equal(l.route, '/*'); // the route template, never the raw path
        assert.equal(typeof l.upstream, 'string');
        assert.ok((l.upstream as string).length > 0);
      }
      assert.equal(new Set(lines.map((l) => l.reqId)).size, 6, 'request ids are distinct');
    },
  );
}

test('access_log: sampled with access_log_sample 0 keeps only the errors', { timeout: 60_000 }, async () => {
  const { statuses, lines } = await run('access_log: sampled, access_log_sample: 0', ['/a', '/fail', '/b']);
  assert.deepEqual(statuses, [200, 500, 200]);
  assert.deepEqual(
    lines.map((l) => [l.path, l.status]),
    [['/fail', 500]],
  );
});
