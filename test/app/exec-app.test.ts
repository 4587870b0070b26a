/**
 * `luascale up` with the exec provider: real scale and list scripts start demo backends, the loop
 * scales through them, and the gateway routes to what list_command reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

test(
  'exec provider in the app: scale_command starts backends, list_command feeds the gateway',
  { timeout: 60_000 },
  async () => {
    const state = mkdtempSync(join(tmpdir(), 'ls-exec-app-'));
    const fx = resolve('test/providers/fixtures/exec');
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${state}/e.db" }
services:
  web:
    provider:
      exec:
        scale_command: ["sh", "${fx}/scale.sh"]
        list_command: ["sh", "${fx}/list.sh"]
        env: { STATE: "${state}", NODE: "${process.execPath}", DEMO: "${resolve('examples/demo-backend/server.mjs')}" }
        timeout: 20s
        poll_interval: 200ms
    scaling: { min: 2, max: 2, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
    const app = await startApp({
      config: parseConfig(text, join(state, 'luascale.yaml')),
      file: join(state, 'luascale.yaml'),
      baseDir: state,
    });
    try {
      const provider = app.providers.get('web')!;
      await new Promise<void>((done) => {
        const check = () => provider.list().filter((i) => i.state === 'ready').length >= 2;
        if (check()) return done();
        const off = provider.on('ready', () => check() && (off(), done()));
      });
      const pids = new Set<number>();
      for (let i = 0; i < 6; i++) {
        const r = await request(`${app.gatewayUrl}/pid`);
        assert.equal(r.statusCode, 200);
        pids.add(((await r.body.json()) as { pid: number }).pid);
      }
      assert.equal(pids.size, 2, 'both backends the scripts started take traffic');

      // A target that reports ready:false leaves the gateway's pool, and comes back when ready.
      const gw = () =>
        app.gateway
          .instances('web')
          .map((i) => i.id)
          .sort();
      const before = gw();
      assert.equal(before.length, 2);
      const lost = new Promise<string>((done) => {
        const off = provider.on('unready', (i) => (off(), done(i.id)));
      });
      writeFileSync(join(state, 'backend-0.unready'), '');
      const gone = await lost;
      assert.deepEqual(
        gw(),
        before.filter((id) => id !== gone),
      );
      for (let i = 0; i < 4; i++) {
        const r = await request(`${app.gatewayUrl}/pid`);
        assert.equal(r.statusCode, 200);
        await r.body.dump();
      }
      const back = new Promise<void>((done) => {
        const off = provider.on('ready', (i) => i.id === gone && (off(), done()));
      });
      rmSync(join(state, 'backend-0.unready'));
      await back;
      assert.deepEqual(gw(), before);
      // Regression: two launches ran scale_command concurrently and the script started 3 backends.
      const started = readFileSync(join(state, 'pids'), 'utf8').split('\n').filter(Boolean);
      assert.equal(
        started.length,
        2,
        'scale_command runs one at a time: exactly two backends were ever started',
      );
    } finally {
      await app.close({ graceMs: 500 });
      if (existsSync(join(state, 'pids'))) {
        for (const pid of readFileSync(join(state, 'pids'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      rmSync(state, { recursive: true, force: true });
    }
  },
);
