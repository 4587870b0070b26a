import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisTokenLimiter } from '../../../src/cluster/redis-token-limiter.js';
import { redisForFile, startRedis } from '../../cluster/redis-server.js';
import { tokenLimiterContract } from './token-limiter-contract.js';

const live = redisForFile();
let n = 0;

// every limiter gets its own key prefix, so tests never share a window
tokenLimiterContract(
  'RedisTokenLimiter',
  async (consumers) => new RedisTokenLimiter({ redis: live.redis, prefix: `t${++n}:`, consumers }),
);

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

test('three gateways over one Redis admit no more than one minute budget together', async () => {
  const prefix = `shared${++n}:`;
  const consumers = { c: { limits: { tokens_per_minute: 1000 } } };
  const conns = [0, 1, 2].map(() => new Redis(live.server.url, { maxRetriesPerRequest: 1 }));
  await Promise.all(conns.map((c) => new Promise((resolve) => c.once('ready', resolve))));
  const limiters = conns.map((r) => new RedisTokenLimiter({ redis: r, prefix, consumers }));
  const verdicts = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      limiters[i % 3]!.reserve({ consumer: 'c', model: 'm', tokens: 220, now: T0 + i }),
    ),
  );
  assert.equal(verdicts.filter((v) => v.ok).length, 4, '4 × 220 ≤ 1000 < 5 × 220');
  for (const c of conns) c.disconnect();
});

test('a Redis outage falls back to 1/n of each limit per gateway, and recovers', async () => {
  const s2 = await startRedis();
  const r2 = new Redis(s2.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => 50,
  });
  const first = new Promise((resolve) => r2.once('ready', resolve));
  await r2.connect();
  await first;
  const l = new RedisTokenLimiter({
    redis: r2,
    prefix: `o${++n}:`,
    consumers: { c: { limits: { tokens_per_minute: 900 } } },
    gateways: () => 3,
    timeoutMs: 5000, // the outage is seen at once (no offline queue); a loaded machine must not look like one
  });
  const req = (tokens: number, now: number) => ({ consumer: 'c', model: 'm', tokens, now });
  assert.equal((await l.reserve(req(100, T0))).ok, true);
  assert.equal(l.stats.remote, 1, JSON.stringify(l.stats));
  await s2.kill();
  const a = await l.reserve(req(300, T0));
  assert.equal(a.ok, true, 'local share: 900 / 3 = 300');
  assert.equal((await l.reserve(req(1, T0))).ok, false);
  assert.ok(l.stats.errors >= 2);
  if (a.ok) await l.settle(a.reservation, { tokens: 0, costUsd: 0, now: T0 }); // settles locally
  assert.equal((await l.reserve(req(300, T0))).ok, true);
  const ready = new Promise((resolve) => r2.once('ready', resolve));
  await s2.restart();
  await ready;
  const remote = l.stats.remote;
  assert.equal((await l.reserve(req(800, T0))).ok, true, 'the restarted Redis holds nothing yet: 800 ≤ 900');
  assert.equal(l.stats.remote, remote + 1);
  r2.disconnect();
  await s2.stop();
});
