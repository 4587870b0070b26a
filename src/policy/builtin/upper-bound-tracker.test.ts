// The guard's bound (issue 22): quantile tracking keeps the share of ticks whose load rises above
// the bound at 1 − coverage on any noise level, without a margin chosen in advance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpperBoundTracker } from './upper-bound-tracker.js';

/** Feeds `n` ticks of load = est × (1 + noise()) and returns the share of misses and the final q. */
function run(coverage: number, noise: () => number, n = 20_000): { missShare: number; q: number } {
  const b = new UpperBoundTracker({ coverage, step: 0.05, horizonMs: 5000, initial: 0.5 });
  for (let i = 0; i < n; i++) b.record(i * 1000, 1000 * (1 + noise()), 1000, 100);
  return { missShare: b.misses / b.resolved, q: b.q };
}

test('the bound covers the load of its horizon on `coverage` of the ticks, for small and large noise', () => {
  let seed = 7;
  const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const [coverage, scale] of [
    [0.95, 0.05],
    [0.95, 1],
    [0.99, 0.3],
  ] as const) {
    const { missShare, q } = run(coverage, () => scale * uniform());
    assert.ok(
      Math.abs(missShare - (1 - coverage)) < 0.01,
      `coverage ${coverage} noise ${scale}: ${missShare}`,
    );
    // the tracked quantile follows the noise: ~ its scale (the max of 6 uniform ticks over est + unit),
    // give or take one step
    assert.ok(q > 0.5 * scale && q < 1.2 * scale + 0.05, `q ${q} for noise ${scale}`);
  }
});

test('reading the bound changes nothing; a quiet estimate is not divided by zero', () => {
  const b = new UpperBoundTracker({ coverage: 0.9, step: 0.05, horizonMs: 1000, initial: 0.2 });
  assert.equal(b.bound(0, 100), 20);
  assert.equal(b.bound(1000, 100), 1220);
  assert.equal(b.q, 0.2);
  assert.equal(b.resolved, 0);
});
