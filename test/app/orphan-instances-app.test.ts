/**
 * Issue 17 item 7: luascale goes away leaving its instances running (as after a kill -9), `web` is
 * renamed to `api` in the config, and the next `luascale up` stops the `web` instances.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import { ProcessProvider, groupExists } from '../../src/providers/process-provider.js';

const backend = resolve('examples/demo-backend/server.mjs');

function config(dir: string, service: string): string {
  return `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
services:
  ${service}:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        health_path: /healthz
        stop_grace: 2s
    scaling: { min: 2, max: 2, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
}

test('instances of a renamed service are stopped by the next run', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-orphans-'));
  const file = join(dir, 'luascale.yaml');
  const first = await startApp({ config: parseConfig(config(dir, 'web'), file), file, baseDir: dir });
  const provider = first.providers.get('web')!;
  await new Promise<void>((done) => {
    const check = () => provider.list().filter((i) => i.state === 'ready').length >= 2;
    if (check()) return done();
    const off = provider.on('ready', () => check() && (off(), done()));
  });
  const web = provider.list();
  // luascale goes away without stopping them (what a kill -9 leaves behind); detach() so this
  // process's provider no longer watches or replaces them.
  await first.close({ graceMs: 100, keepInstances: true });
  await (provider as ProcessProvider).detach();
  assert.ok(web.every((i) => groupExists(i.pgid!)));

  const lines: string[] = [];
  const second = await startApp(
    { config: parseConfig(config(dir, 'api'), file), file, baseDir: dir },
    { log: (l) => lines.push(l) },
  );
  try {
    assert.ok(
      lines.includes('stopping 2 instance(s) of services no longer in the config: web (2)'),
      lines.join('\n'),
    );
  } finally {
    await second.close({ graceMs: 200 });
    for (const i of web)
      if (groupExists(i.pgid!))
        try {
          process.kill(-i.pgid!, 'SIGKILL');
        } catch {
          // gone
        }
    rmSync(dir, { recursive: true, force: true });
  }
  // close() waits for the orphans' stop.
  assert.ok(
    web.every((i) => !groupExists(i.pgid!)),
    'the web instances are gone',
  );
});
