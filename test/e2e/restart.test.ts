/**
 * kill -9 of luascale during load, then a restart: the instances live on in their own process
 * groups, the new luascale adopts them (no duplicates, no orphans), the replica count and the event
 * log are restored, and a SIGTERM afterwards stops every instance process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { runLoad, constantRate } from '../../src/loadgen/index.js';
import { freePort, markedPids, runUp, type Running } from '../helpers/up-process.js';

const backend = resolve('examples/demo-backend/server.mjs');
/** Line waits are bounded by the test's own timeout only. */
const WAIT_MS = 120_000;

test(
  'kill -9 during load, restart: adopted instances, no orphans, replicas and events restored; SIGTERM stops all',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-restart-'));
    const mark = randomBytes(6).toString('hex');
    const [gPort, aPort] = [await freePort(), await freePort()];
    const cfg = join(dir, 'luascale.yaml');
    writeFileSync(
      cfg,
      `gateway: { listen: "127.0.0.1:${gPort}", access_log: "off", drain_timeout: 5s }
admin: { listen: "127.0.0.1:${aPort}" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        env: { LS_TEST_MARK: "${mark}", BURN_MS: "1" }
        log_dir: "${dir}/logs"
        stop_grace: 3s
    scaling: { min: 3, max: 3, policy: { builtin: target-tracking, params: { metric: cpu, target: 60 } } }
`,
    );
    const admin = (path: string) =>
      request(`http://127.0.0.1:${aPort}${path}`).then((r) => r.body.json() as Promise<any>);
    let a: Running | undefined;
    let b: Running | undefined;
    try {
      a = runUp(cfg);
      await a.waitForLines(/instance \S+ ready/, 3, WAIT_MS);
      const pidsBefore = markedPids(mark);
      assert.equal(pidsBefore.length, 3, `three instance processes: ${pidsBefore}`);

      // Load through the gateway; kill -9 luascale two seconds in.
      let killed = false;
      const load = runLoad({
        url: `http://127.0.0.1:${gPort}/work`,
        pattern: constantRate(20),
        durationMs: 4000,
        maxRequests: 200,
        timeoutMs: 5000,
        onSecond: (s) => {
          if (s.t >= 1 && !killed) {
            killed = true;
            a!.child.kill('SIGKILL');
          }
        },
      });
      const eventsBefore = (await admin('/v1/events?limit=1000')).events as Array<{ id: number }>;
      assert.ok(eventsBefore.length >= 4, 'decisions and instance events were recorded');
      const summary = await load;
      await a.exited;
      assert.ok(summary.ok > 0, 'requests were served before the kill');
      assert.deepEqual(
        markedPids(mark),
        pidsBefore,
        'the instances outlive luascale in their own process groups',
      );

      b = runUp(cfg);
      const adoptedLine = await b.waitForLines(/adopted \d+ running instance/, 1, WAIT_MS);
      assert.match(adoptedLine, /adopted 3 running instance\(s\), stopping 0/);
      await b.waitForLines(/gateway on/, 1, WAIT_MS);
      const svc = await admin('/v1/services/web');
      assert.equal(svc.replicas.ready, 3, 'the replica count is restored from the adopted instances');
      assert.deepEqual(
        markedPids(mark),
        pidsBefore,
        'no duplicates: the same three processes, nothing launched',
      );
      const ok = await request(`http://127.0.0.1:${gPort}/work`);
      assert.equal(ok.statusCode, 200, 'the gateway routes to the adopted instances');
      await ok.body.dump();
      const eventsAfter = (await admin('/v1/events?limit=1000')).events as Array<{ id: number }>;
      const afterIds = new Set(eventsAfter.map((e) => e.id));
      assert.ok(
        eventsBefore.every((e) => afterIds.has(e.id)),
        'every event from before the kill is still in the log',
      );

      b.child.kill('SIGTERM');
      assert.equal((await b.exited).code, 0, b.stderr());
      assert.deepEqual(markedPids(mark), [], 'SIGTERM stopped every instance process');
    } finally {
      for (const c of [a?.child, b?.child]) if (c && c.exitCode === null) c.kill('SIGKILL');
      for (const pid of markedPids(mark)) process.kill(-pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
