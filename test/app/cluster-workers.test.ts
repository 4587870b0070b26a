/**
 * Cluster mode (store.redis) together with `gateway.workers: 2`: the workers take their rate-limit
 * tokens from the shared Redis bucket (not a divided local one), and the primary publishes the
 * workers' merged seconds, so the cluster-wide signals count every request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { startRedisOrSkip } from '../cluster/redis-server.js';
import { getStatus } from '../helpers/get-status.js';

test(
  'store.redis + workers: 2 — one shared Redis bucket across the workers; merged seconds reach the cluster signals',
  { timeout: 60_000 },
  async (t) => {
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-cw-'));
    let app: LuascaleApp | undefined;
    const decisions: Array<{ rps: number }> = [];
    let wake: () => void = () => {};
    /** Resolves at the next decision (one per 1 s interval): the test waits on the loop, not on timers. */
    const nextDecision = () => new Promise<void>((r) => (wake = r));
    try {
      const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off", workers: 2 }
admin: { listen: "127.0.0.1:0" }
store: { redis: "${redis.url}", sqlite: "${dir}/local.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, interval: 1s, window: 30s, policy: { builtin: target-tracking, params: { metric: rps, target: 100000 } } }
    traffic: { rate_limit: { rps: 0.001, burst: 9, key: global } }
`;
      app = await startApp(
        {
          config: parseConfig(text, join(dir, 'luascale.yaml')),
          file: join(dir, 'luascale.yaml'),
          baseDir: dir,
        },
        { onDecision: (d) => (decisions.push({ rps: d.inputs.rps }), wake()) },
      );
      assert.equal(app.gatewayPids().length, 2);
      // the leader publishes the static target to the registry; the workers route to it
      for (let i = 0; i < 15 && app.gateway.instances('web').length === 0; i++) await nextDecision();
      assert.equal(app.gateway.instances('web').length, 1);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push(await getStatus(`${app.gatewayUrl}/`));
      const ok = statuses.filter((s) => s === 200).length;
      const limited = statuses.filter((s) => s === 429).length;
      // divided, each worker would hold ceil(9/2) = 5 tokens: 10 admitted; shared, exactly 9
      assert.equal(ok, 9, `admitted ${ok}: ${JSON.stringify(statuses)}`);
      assert.equal(limited, 21);
      // the controller reads the cluster signals from Redis: the primary published its workers'
      // merged seconds, so the 30 s window holds all 30 requests (offered = admitted + shed)
      for (let i = 0; i < 10 && Math.round((decisions.at(-1)?.rps ?? 0) * 30) !== 30; i++)
        await nextDecision();
      assert.equal(Math.round(decisions.at(-1)!.rps * 30), 30);
    } finally {
      await app?.close({ graceMs: 500 });
      await new Promise<void>((r) => upstream.close(() => r()));
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
