/**
 * Property test: the SQLite history answers like a plain reference model of the tiers (fast-check,
 * fixed seed, bounded runs), whether the samples are still queued or already flushed and pruned.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { chooseTier, type HistoryTier } from '../../src/store/history-tiers.js';
import { openStore } from '../../src/store/sqlite-store.js';

const T0S = 1_699_999_980;

function model(samples: Array<[number, number]>, tier: HistoryTier, seconds: number, nowSec: number) {
  const step = tier.stepSeconds;
  const last = Math.floor(nowSec / step) * step;
  const n = Math.ceil(seconds / step);
  const first = last - (n - 1) * step;
  const buckets = new Map<number, { sum: number; count: number; max: number }>();
  for (const [sec, v] of samples) {
    const b = Math.floor(sec / step) * step;
    if (b < first || b > last) continue;
    const a = buckets.get(b) ?? { sum: 0, count: 0, max: -Infinity };
    a.sum += v;
    a.count++;
    a.max = Math.max(a.max, v);
    buckets.set(b, a);
  }
  const start = Math.min(...buckets.keys());
  const avg: number[] = [];
  const max: number[] = [];
  if (Number.isFinite(start)) {
    for (let t = start; t <= last; t += step) {
      const a = buckets.get(t);
      avg.push(a ? a.sum / a.count : NaN);
      max.push(a ? a.max : NaN);
    }
  }
  return { avg, max };
}

it('series equals the reference model of the tiers for random samples and windows', () => {
  const tiers: HistoryTier[] = [
    { stepSeconds: 1, keepSeconds: 120 },
    { stepSeconds: 10, keepSeconds: 1200 },
    { stepSeconds: 60, keepSeconds: 3600 },
  ];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: -1000, max: 1000 })), {
        maxLength: 120,
      }),
      fc.integer({ min: 1, max: 4000 }),
      fc.integer({ min: 0, max: 1600 }),
      fc.boolean(),
      (raw, seconds, nowOffset, flush) => {
        const samples = raw.map(([s, v]) => [T0S + s, v / 8] as [number, number]);
        const store = openStore({
          file: ':memory:',
          flushIntervalMs: 0,
          clock: new ManualClock(0, T0S * 1000),
          retention: { tiers },
        });
        try {
          for (const [sec, v] of samples) store.history.record('api', 'm', sec * 1000 + 500, v);
          if (flush) store.flush();
          const nowSec = T0S + nowOffset;
          const got = store.history.series('api', 'm', seconds, nowSec * 1000 + 999);
          const tier = chooseTier(tiers, seconds);
          assert.equal(got.stepSeconds, tier.stepSeconds);
          const want = model(samples, tier, seconds, nowSec);
          assert.equal(got.avg.length, want.avg.length);
          for (let i = 0; i < want.avg.length; i++) {
            if (Number.isNaN(want.avg[i])) assert.ok(Number.isNaN(got.avg[i]));
            else
              assert.ok(
                Math.abs(got.avg[i]! - want.avg[i]!) < 1e-9,
                `avg[${i}] ${got.avg[i]} vs ${want.avg[i]}`,
              );
          }
          assert.deepEqual(got.max, want.max);
        } finally {
          store.close();
        }
      },
    ),
    { seed: 4242, numRuns: 150 },
  );
});
