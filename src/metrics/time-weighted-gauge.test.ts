import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimeWeightedGauge } from './time-weighted-gauge.js';
import { SlidingWindow } from './sliding-window.js';

/** Brute force: integrate a step function given as (time, level) changes over [from, to). */
function integrate(steps: [number, number][], from: number, to: number): number {
  let area = 0;
  for (let i = 0; i < steps.length; i++) {
    const [t, v] = steps[i]!;
    const next = i + 1 < steps.length ? steps[i + 1]![0] : Number.POSITIVE_INFINITY;
    const a = Math.max(t, from);
    const b = Math.min(next, to);
    if (b > a) area += v * (b - a);
  }
  return area;
}

test('TimeWeightedGauge.average equals the exact integral over windows aligned to whole seconds', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 50 })), {
        minLength: 1,
        maxLength: 40,
      }),
      fc.integer({ min: 1, max: 30 }),
      (deltas, windowS) => {
        const g = new TimeWeightedGauge(60, 0);
        const steps: [number, number][] = [[0, 0]];
        let t = 0;
        for (const [dt, v] of deltas) {
          t += dt;
          g.set(t, v);
          steps.push([t, v]);
        }
        // read at a whole second so the window's first bucket is whole (no pro-rating)
        const now = Math.ceil((t + 1) / 1000) * 1000;
        const expected = integrate(steps, now - windowS * 1000, now) / (windowS * 1000);
        const got = g.average(now, windowS);
        assert.ok(Math.abs(got - expected) < 1e-6, `got ${got}, expected ${expected}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('SlidingWindow.sum equals a brute-force count of the samples in the complete seconds', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: 300 }),
      fc.integer({ min: 1, max: 59 }),
      (times, windowS) => {
        const sorted = [...times].sort((a, b) => a - b);
        const w = new SlidingWindow(60);
        for (const t of sorted) w.add(t);
        const now = (sorted.at(-1) ?? 0) + 1;
        const cur = Math.floor(now / 1000);
        const expected = sorted.filter(
          (t) => Math.floor(t / 1000) >= cur - windowS && Math.floor(t / 1000) < cur,
        ).length;
        assert.equal(w.sum(now, windowS), expected);
      },
    ),
    { numRuns: 300 },
  );
});
