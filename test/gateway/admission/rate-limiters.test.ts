import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../../src/gateway/admission/token-bucket.js';
import { SlidingWindowLimiter } from '../../../src/gateway/admission/sliding-window-limiter.js';
import { rateLimitHeaders } from '../../../src/gateway/admission/rate-limit-headers.js';
import { rateLimiterContract } from './rate-limiter-contract.js';

rateLimiterContract('TokenBucket', (o) => new TokenBucket(o));
rateLimiterContract('SlidingWindowLimiter', (o) => new SlidingWindowLimiter(o));

test('TokenBucket refills at rps tokens per second, up to burst', () => {
  const b = new TokenBucket({ rps: 10, burst: 5 });
  for (let i = 0; i < 5; i++) b.take('k', 0);
  const cases: [number, boolean, number][] = [
    // [now, ok, remaining after]
    [50, false, 0], // half a token
    [100, true, 0], // one token refilled in 100 ms
    [10_000, true, 4], // full again (capped at 5), one spent
  ];
  for (const [now, ok, remaining] of cases) {
    const v = b.take('k', now);
    assert.equal(v.ok, ok, `at ${now}`);
    assert.equal(v.remaining, remaining, `remaining at ${now}`);
  }
});

test('TokenBucket reports Retry-After for the missing fraction and Reset until full', () => {
  const b = new TokenBucket({ rps: 0.5, burst: 2 }); // one token every 2 s
  b.take('k', 0);
  b.take('k', 0);
  const v = b.take('k', 500);
  assert.equal(v.ok, false);
  assert.equal(v.retryAfterS, 2); // 0.25 token there, 0.75 missing at 0.5/s → 1.5 s → 2
  assert.equal(v.resetS, 4); // 1.75 missing → 3.5 s → 4
});

test('TokenBucket forgets refilled keys on prune and caps the number of keys', () => {
  const b = new TokenBucket({ rps: 1, burst: 1, maxKeys: 3 });
  for (const k of ['a', 'b', 'c']) b.take(k, 0);
  assert.equal(b.size(), 3);
  b.take('d', 100); // all three still empty: the oldest goes
  assert.equal(b.size(), 3);
  assert.equal(b.prune(10_000), 3);
  assert.equal(b.size(), 0);
});

test('SlidingWindowLimiter weighs the previous window by the part still inside the sliding window', () => {
  const l = new SlidingWindowLimiter({ rps: 10, burst: 10 }); // 10 per 1 s window
  for (let i = 0; i < 10; i++) assert.equal(l.take('k', 0).ok, true);
  // at 1.5 s the previous 10 count for half: estimate 5 → 5 more pass, the 6th does not
  let ok = 0;
  for (let i = 0; i < 8; i++) if (l.take('k', 1500).ok) ok++;
  assert.equal(ok, 5);
  const v = l.take('k', 1500);
  assert.equal(v.ok, false);
  assert.ok(v.retryAfterS >= 1);
});

test('SlidingWindowLimiter is stricter than a token bucket across a window edge', () => {
  const sw = new SlidingWindowLimiter({ rps: 10, burst: 10 });
  const tb = new TokenBucket({ rps: 10, burst: 10 });
  let swOk = 0;
  let tbOk = 0;
  for (const t of [990, 1010])
    for (let i = 0; i < 10; i++) {
      if (sw.take('k', t).ok) swOk++;
      if (tb.take('k', t).ok) tbOk++;
    }
  assert.equal(swOk, 10);
  assert.ok(tbOk === 10, `token bucket passed ${tbOk}`); // only 0.2 tokens refilled in 20 ms
});

test('SlidingWindowLimiter window is burst / rps seconds', () => {
  assert.equal(new SlidingWindowLimiter({ rps: 5, burst: 50 }).windowMs, 10_000);
  assert.equal(new SlidingWindowLimiter({ rps: 5 }).windowMs, 1_000);
});

test('rate limit options are validated', () => {
  assert.throws(() => new TokenBucket({ rps: 0 }), /rps must be > 0/);
  assert.throws(() => new SlidingWindowLimiter({ rps: 1, burst: 0 }), /burst must be >= 1/);
});

test('rateLimitHeaders sets RateLimit-* always and Retry-After only on denial', () => {
  assert.deepEqual(rateLimitHeaders({ ok: true, limit: 10, remaining: 3, resetS: 1, retryAfterS: 0 }), {
    'ratelimit-limit': '10',
    'ratelimit-remaining': '3',
    'ratelimit-reset': '1',
  });
  assert.equal(
    rateLimitHeaders({ ok: false, limit: 10, remaining: 0, resetS: 2, retryAfterS: 1 })['retry-after'],
    '1',
  );
});
