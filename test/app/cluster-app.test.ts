/**
 * `luascale up` in cluster mode (store.redis) against a real redis-server: two luascale programs
 * share one rate limit and elect one leader; events land in Redis; the leader actuates, the other
 * only advises.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { startRedisOrSkip } from '../cluster/redis-server.js';

test(
  'two luascale programs on one Redis: one shared rate limit, one leader, events in Redis',
  { timeout: 60_000 },
  async (t) => {
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dirs = [mkdtempSync(join(tmpdir(), 'ls-c1-')), mkdtempSync(join(tmpdir(), 'ls-c2-'))];
    const apps: LuascaleApp[] = [];
    // The leader's first decision lands in Redis a tick after start; wait for it, not for a time.
    let eventStored!: () => void;
    const firstEvent = new Promise<void>((r) => (eventStored = r));
    try {
      for (const dir of dirs) {
        const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { redis: "${redis.url}", sqlite: "${dir}/local.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
    traffic: { rate_limit: { rps: 1, burst: 10, key: global } }
`;
        apps.push(
          await startApp(
            {
              config: parseConfig(text, join(dir, 'luascale.yaml')),
              file: join(dir, 'luascale.yaml'),
              baseDir: dir,
            },
            { onEvent: () => eventStored() },
          ),
        );
      }
      // 30 requests spread over both gateways against one shared bucket of 10 (+1/s).
      let ok = 0;
      let limited = 0;
      for (let i = 0; i < 30; i++) {
        const res = await request(`${apps[i % 2]!.gatewayUrl}/`);
        await res.body.dump();
        if (res.statusCode === 200) ok++;
        else if (res.statusCode === 429) limited++;
      }
      assert.ok(ok >= 10 && ok <= 13, `admitted ${ok} of 30 across two gateways sharing burst 10 at 1 rps`);
      assert.equal(ok + limited, 30);
      // One leader: its events are in Redis and either admin API lists them.
      await firstEvent;
      const ev = (await (await request(`${apps[1]!.adminUrl}/v1/events?limit=100`)).body.json()) as {
        events: unknown[];
      };
      assert.ok(ev.events.length > 0, 'events are shared through Redis');
    } finally {
      for (const a of apps) await a.close({ graceMs: 500 });
      upstream.close();
      await redis.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  },
);
