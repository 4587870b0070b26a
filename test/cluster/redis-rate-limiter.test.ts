import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../../src/cluster/redis-rate-limiter.js';
import { rateLimiterContract } from '../gateway/admission/rate-limiter-contract.js';
import { redisForFile } from './redis-server.js';

const live = redisForFile();
let n = 0;

// every limiter gets its own key prefix, so tests never share a bucket
rateLimiterContract(
  'RedisRateLimiter',
  ({ rps, burst }) => new RedisRateLimiter({ redis: live.redis, prefix: `t${++n}:`, rps, burst }),
);

rateLimiterContract(
  'RedisRateLimiter (batched leases)',
  ({ rps, burst }) =>
    new RedisRateLimiter({ redis: live.redis, prefix: `b${++n}:`, rps, burst, maxBatch: 4 }),
);

test('three limiters sharing one bucket admit no more than the bucket allows', async () => {
  const prefix = `shared${++n}:`;
  const limiters = [0, 1, 2].map(
    () => new RedisRateLimiter({ redis: live.redis, prefix, rps: 100, burst: 50, maxBatch: 10 }),
  );
  const T0 = 5_000_000;
  let ok = 0;
  let t = T0;
  // 2 s at 3 × 500 requests per second, interleaved across the three
  for (let i = 0; i < 1000; i++) {
    t = T0 + i * 2;
    const verdicts = await Promise.all(limiters.map((l) => l.take('k', t)));
    ok += verdicts.filter((v) => v.ok).length;
  }
  const allowed = 50 + (100 * (t - T0)) / 1000;
  assert.ok(ok <= allowed, `admitted ${ok} > ${allowed}`);
  assert.ok(ok >= allowed * 0.9, `admitted only ${ok} of ${allowed}`);
  const remote = limiters.reduce((s, l) => s + l.stats.remote, 0);
  const local = limiters.reduce((s, l) => s + l.stats.local, 0);
  assert.ok(local > 0, 'some decisions were local (batched leases)');
  assert.ok(remote < 3000, `round trips ${remote}`);
});

test('a NOSCRIPT reply (script cache flushed) loads the script again', async () => {
  const l = new RedisRateLimiter({ redis: live.redis, prefix: `ns${++n}:`, rps: 1, burst: 1 });
  await live.redis.script('FLUSH');
  assert.equal((await l.take('k', 1000)).ok, true);
  assert.equal((await l.take('k', 1000)).ok, false);
  assert.equal(l.stats.errors, 0);
});

test('with Redis unreachable, decisions fall back to rps/n locally', async () => {
  const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const l = new RedisRateLimiter({ redis: dead, prefix: 'x:', rps: 30, burst: 30, gateways: () => 3 });
  let ok = 0;
  for (let i = 0; i < 30; i++) if ((await l.take('k', 1000)).ok) ok++;
  assert.equal(ok, 10, 'a third of the burst');
  assert.ok(l.stats.fallback >= 30);
  dead.disconnect();
});

test('a hung Redis (SIGSTOP) costs one lease timeout, then decisions are local until retryMs passes', async () => {
  const l = new RedisRateLimiter({
    redis: live.redis,
    prefix: `hung${++n}:`,
    rps: 10,
    burst: 10,
    gateways: () => 2,
    timeoutMs: 100,
  });
  assert.equal((await l.take('k', 1000)).ok, true);
  process.kill(live.server.pid()!, 'SIGSTOP');
  try {
    const t0 = performance.now();
    const v = await l.take('k', 1001, 5); // more than the local lease holds: needs Redis
    const waited = performance.now() - t0;
    assert.ok(waited < 1000, `waited ${waited} ms`);
    assert.equal(l.stats.errors, 1);
    assert.equal(v.ok, true, 'the fallback bucket holds 10/2 = 5 tokens');
    const t1 = performance.now();
    assert.equal((await l.take('k', 1002, 1)).ok, false, 'and they are spent');
    assert.ok(performance.now() - t1 < 50, 'no second wait within retryMs');
  } finally {
    process.kill(live.server.pid()!, 'SIGCONT');
  }
  assert.equal((await l.take('k2', 5000)).ok, true, 'back to Redis after retryMs');
  assert.ok(l.stats.remote >= 2);
});

test('while the shared bucket provably lacks tokens, denials are local (no round trip)', async () => {
  const l = new RedisRateLimiter({ redis: live.redis, prefix: `deny${++n}:`, rps: 10, burst: 2 });
  assert.equal((await l.take('k', 1000)).ok, true);
  assert.equal((await l.take('k', 1000)).ok, true);
  const remote = l.stats.remote;
  // the bucket held 0 at t=1000 and refills 1 token per 100 ms
  for (let t = 1000; t < 1100; t += 10) {
    const v = l.take('k', t);
    assert.ok(!(v instanceof Promise), 'answered synchronously');
    assert.equal(v.ok, false);
    assert.equal(v.retryAfterS, 1);
  }
  assert.equal(l.stats.remote, remote, 'no round trip');
  assert.equal((await l.take('k', 1100)).ok, true, 'asks Redis once a token can exist');
});
