/**
 * The contract every RateLimiter runs (house style: one interface, one shared suite). A limiter
 * factory gets `{ rps, burst }`; time is passed in, so the suite drives it with plain numbers.
 * The cluster-mode Redis limiter will import and run this too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RateLimiter, RateLimitVerdict } from '../../../src/gateway/admission/rate-limiter.js';

/** Builds a fresh limiter for one test; `close` is called afterwards when given. */
export type LimiterFactory = (options: { rps: number; burst: number }) => RateLimiter | Promise<RateLimiter>;

/** Registers the shared RateLimiter tests under `name`. */
export function rateLimiterContract(
  name: string,
  make: LimiterFactory,
  close?: (l: RateLimiter) => Promise<void> | void,
): void {
  async function withLimiter(
    options: { rps: number; burst: number },
    fn: (l: RateLimiter) => Promise<void>,
  ): Promise<void> {
    const l = await make(options);
    try {
      await fn(l);
    } finally {
      await close?.(l);
    }
  }

  const T0 = 1_000_000; // an arbitrary, window-aligned origin

  test(`${name}: a fresh key passes a whole burst, then is denied`, () =>
    withLimiter({ rps: 10, burst: 5 }, async (l) => {
      for (let i = 0; i < 5; i++)
        assert.equal((await l.take('a', T0)).ok, true, `request ${i + 1} of the burst`);
      const denied = await l.take('a', T0);
      assert.equal(denied.ok, false);
    }));

  test(`${name}: keys are independent`, () =>
    withLimiter({ rps: 1, burst: 1 }, async (l) => {
      assert.equal((await l.take('a', T0)).ok, true);
      assert.equal((await l.take('a', T0)).ok, false);
      assert.equal((await l.take('b', T0)).ok, true);
    }));

  test(`${name}: a denial carries Retry-After >= 1 and remaining 0`, () =>
    withLimiter({ rps: 2, burst: 2 }, async (l) => {
      await l.take('k', T0);
      await l.take('k', T0);
      const v = await l.take('k', T0);
      assert.equal(v.ok, false);
      assert.equal(v.remaining, 0);
      assert.ok(Number.isInteger(v.retryAfterS) && v.retryAfterS >= 1, `retryAfterS ${v.retryAfterS}`);
      assert.equal(v.limit, 2);
    }));

  test(`${name}: remaining counts down and every figure is a non-negative integer`, () =>
    withLimiter({ rps: 5, burst: 5 }, async (l) => {
      const seen: RateLimitVerdict[] = [];
      for (let i = 0; i < 7; i++) seen.push(await l.take('k', T0 + i));
      for (const v of seen) {
        for (const f of [v.limit, v.remaining, v.resetS, v.retryAfterS])
          assert.ok(Number.isInteger(f) && f >= 0, JSON.stringify(v));
        if (v.ok) assert.equal(v.retryAfterS, 0);
      }
      assert.deepEqual(
        seen.slice(0, 5).map((v) => v.remaining),
        [4, 3, 2, 1, 0],
      );
    }));

  test(`${name}: waiting Retry-After seconds lets a request pass again`, () =>
    withLimiter({ rps: 1, burst: 1 }, async (l) => {
      assert.equal((await l.take('k', T0)).ok, true);
      const v = await l.take('k', T0 + 10);
      assert.equal(v.ok, false);
      assert.equal((await l.take('k', T0 + 10 + v.retryAfterS * 1000)).ok, true);
    }));

  test(`${name}: over a long run no key gets more than rps × T + burst`, () =>
    withLimiter({ rps: 20, burst: 10 }, async (l) => {
      let ok = 0;
      const seconds = 10;
      // 100 requests per second offered, every 10 ms
      for (let t = 0; t < seconds * 1000; t += 10) if ((await l.take('k', T0 + t)).ok) ok++;
      assert.ok(ok <= 20 * seconds + 10, `admitted ${ok}`);
      assert.ok(ok >= 20 * seconds * 0.9, `admitted only ${ok} of a 20 rps quota`);
    }));

  test(`${name}: a clock going backwards grants nothing extra`, () =>
    withLimiter({ rps: 1, burst: 1 }, async (l) => {
      assert.equal((await l.take('k', T0 + 5000)).ok, true);
      assert.equal((await l.take('k', T0)).ok, false);
      assert.equal((await l.take('k', T0 + 5000)).ok, false);
    }));

  test(`${name}: a cost larger than one spends that much`, () =>
    withLimiter({ rps: 10, burst: 10 }, async (l) => {
      assert.equal((await l.take('k', T0, 8)).ok, true);
      assert.equal((await l.take('k', T0, 3)).ok, false);
      assert.equal((await l.take('k', T0, 2)).ok, true);
    }));

  test(`${name}: for any arrival times, admitted <= burst + rps x elapsed (property)`, () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 60 }),
        async (rps, burst, gaps) => {
          await withLimiter({ rps, burst }, async (l) => {
            let t = T0;
            let ok = 0;
            for (const gap of gaps) {
              t += gap;
              if ((await l.take('p', t)).ok) ok++;
            }
            assert.ok(
              ok <= burst + (rps * (t - T0)) / 1000 + 1e-9,
              `admitted ${ok} in ${t - T0} ms at ${rps}/s burst ${burst}`,
            );
            assert.ok(ok >= 1, 'the first request of a fresh key passes');
          });
        },
      ),
      { numRuns: 60 },
    ));
}
