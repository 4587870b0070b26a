// The guard's bound (issue 22): quantile tracking keeps the share of ticks whose load rises above
// the bound at 1 − coverage on any noise level, without a margin chosen in advance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpperBoundTracker } from './upper-bound-tracker.js';

/** Feeds `n` ticks of load = est × (1 + noise()) and returns the share of misses and the final q. */
function run(coverage: number, noise: () => number, n = 20_000): { missShare: number; q: number } {
  const b = new UpperBoundTracker({ coverage, step: 0.05, horizonMs: 5000, initial: 0.5 });
  for (let i = 0; i < n; i++) b.record(i * 1000, { load: 1000 * (1 + noise()), est: 1000, unit: 100 });
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

test('scored against the fleet sized from it, the misses of that fleet settle at 1 − coverage, and q stays ≥ 0', () => {
  let seed = 11;
  const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const horizon = 5;
  const b = new UpperBoundTracker({ coverage: 0.95, step: 0.05, horizonMs: horizon * 1000, initial: 0.5 });
  const loads: number[] = [];
  const serves: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    loads.push(1000 * (1 + 0.5 * uniform()));
    // a fleet with slack over the bound (rounding, staffing headroom): it serves 1.3× the bound
    serves.push(1.3 * b.bound(1000, 100));
    b.record(i * 1000, { load: loads[i]!, est: 1000, unit: 100, serves: serves[i]! });
  }
  let missed = 0;
  let scored = 0;
  for (let i = 0; i + horizon < loads.length; i++) {
    scored++;
    if (Math.max(...loads.slice(i, i + horizon + 1)) > serves[i]!) missed++;
  }
  assert.ok(Math.abs(missed / scored - 0.05) < 0.01, `fleet misses ${missed / scored}`);
  // the slack means the bound itself can sit lower than the noise it would cover on its own
  assert.ok(b.q < 0.5 * (1500 / 1100 - 1) + 0.2, `q ${b.q}`);
  // a long quiet stretch (the fleet always holds) lets q fall to 0, not below
  for (let i = 20_000; i < 30_000; i++) b.record(i * 1000, { load: 0, est: 1000, unit: 100, serves: 1e9 });
  assert.equal(b.q, 0);
});

test('scored by the load when its horizon ends, one high second is one miss, not one per tick whose horizon holds it', () => {
  const misses = (score: 'max' | 'end') => {
    const b = new UpperBoundTracker({ coverage: 0.99, step: 0.01, horizonMs: 5000, initial: 0, score });
    for (let i = 0; i < 200; i++)
      b.record(i * 1000, { load: i === 100 ? 2000 : 1000, est: 1000, unit: 100, serves: 1100 });
    return b.misses;
  };
  // ticks 95–100 all had the spike within their horizon; only tick 95's horizon ends on it
  assert.equal(misses('max'), 6);
  assert.equal(misses('end'), 1);
  // a rise that lasts is a miss for every tick whose horizon ends in it, in both
  const b = new UpperBoundTracker({ coverage: 0.99, step: 0.01, horizonMs: 5000, initial: 0, score: 'end' });
  for (let i = 0; i < 200; i++)
    b.record(i * 1000, { load: i >= 100 ? 2000 : 1000, est: 1000, unit: 100, serves: 1100 });
  assert.equal(b.misses, 200 - 5 - 95);
});
