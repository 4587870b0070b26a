/** The MetricHistoryStore contract: tiers, windows, the policy reader, pruning and trace export. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { parseTrace } from '../../../src/simulator/trace.js';
import type { HistoryTier } from '../../../src/store/history-tiers.js';
import type { MetricHistoryStore } from '../../../src/store/metric-history-store.js';
import type { Awaitable } from '../../../src/store/store.js';

/** A store under test and how to persist, reopen and close it. */
export interface MetricHistoryStoreHandle {
  history: MetricHistoryStore;
  flush(): Awaitable<void>;
  reopen(): Promise<MetricHistoryStoreHandle>;
  close(): Awaitable<void>;
}

/** How the contract opens a store: with these tiers, on this clock (wall time is what `now` means). */
export type OpenHistory = (options: {
  tiers: HistoryTier[];
  clock: ManualClock;
}) => Promise<MetricHistoryStoreHandle>;

/** A minute-aligned epoch second, so bucket arithmetic in the tests stays readable. */
export const T0S = 1_699_999_980;
const T0 = T0S * 1000;
const DEFAULT: HistoryTier[] = [
  { stepSeconds: 1, keepSeconds: 3600 },
  { stepSeconds: 60, keepSeconds: 30 * 86_400 },
];
const SMALL: HistoryTier[] = [
  { stepSeconds: 1, keepSeconds: 60 },
  { stepSeconds: 10, keepSeconds: 600 },
];

function same(actual: number[], expected: number[]): void {
  // deepEqual treats NaN as equal to NaN (SameValueZero), which is what a gap is
  assert.deepEqual(actual, expected);
}

/** Registers the contract tests for one implementation. */
export function metricHistoryStoreContract(name: string, open: OpenHistory): void {
  describe(`MetricHistoryStore contract: ${name}`, () => {
    it('series at 1 s is oldest first with NaN gaps, before and after the write-behind flush', async () => {
      const h = await open({ tiers: DEFAULT, clock: new ManualClock(0, T0) });
      try {
        h.history.record('api', 'rps', T0, 1);
        h.history.record('api', 'rps', T0 + 1500, 2);
        h.history.record('api', 'rps', T0 + 3000, 4);
        h.history.record('web', 'rps', T0, 100);
        const now = T0 + 4500;
        const before = await h.history.series('api', 'rps', 10, now);
        assert.equal(before.stepSeconds, 1);
        assert.equal(before.start, T0);
        same(before.avg, [1, 2, NaN, 4, NaN]);
        await h.flush();
        const after = await h.history.series('api', 'rps', 10, now);
        same(after.avg, [1, 2, NaN, 4, NaN]);
        same(after.max, [1, 2, NaN, 4, NaN]);
        same((await h.history.series('api', 'rps', 2, now)).avg, [4, NaN]);
        same((await h.history.series('api', 'cpu', 10, now)).avg, []);
      } finally {
        await h.close();
      }
    });

    it('samples in the same second are averaged and non-finite values are ignored', async () => {
      const h = await open({ tiers: DEFAULT, clock: new ManualClock(0, T0) });
      try {
        h.history.record('api', 'cpu', T0 + 100, 10);
        await h.flush();
        h.history.record('api', 'cpu', T0 + 900, 20);
        h.history.record('api', 'cpu', T0 + 950, Number.NaN);
        h.history.record('api', 'cpu', T0 + 960, Number.POSITIVE_INFINITY);
        const s = await h.history.series('api', 'cpu', 1, T0 + 999);
        same(s.avg, [15]);
        same(s.max, [20]);
      } finally {
        await h.close();
      }
    });

    it('a window longer than the 1 s tier keeps is served by the 1 min tier with avg and max', async () => {
      const h = await open({ tiers: DEFAULT, clock: new ManualClock(0, T0) });
      try {
        // three minutes; in minute m the value at second s is 10*m + s % 10
        for (let sec = 0; sec < 180; sec++)
          h.history.record('api', 'rps', T0 + sec * 1000, 10 * Math.floor(sec / 60) + (sec % 10));
        await h.flush();
        const s = await h.history.series('api', 'rps', 7200, T0 + 179_000);
        assert.equal(s.stepSeconds, 60);
        assert.equal(s.start, T0);
        same(s.avg, [4.5, 14.5, 24.5]);
        same(s.max, [9, 19, 29]);
        // a window longer than anything is kept (even Infinity) means all that is kept
        same(
          (await h.history.series('api', 'rps', Number.POSITIVE_INFINITY, T0 + 179_000)).avg,
          [4.5, 14.5, 24.5],
        );
        same((await h.history.series('api', 'rps', Number.NaN, T0 + 179_000)).avg, []);
      } finally {
        await h.close();
      }
    });

    it('historyReader serves policies at 1 s and fills long windows from the coarse tier after pruning', async () => {
      const clock = new ManualClock(0, T0 + 200_000);
      const h = await open({ tiers: SMALL, clock });
      try {
        for (let sec = 0; sec < 200; sec++) h.history.record('api', 'rps', T0 + sec * 1000, sec);
        await h.flush();
        const now = T0 + 199_000;
        await h.history.prune(now);
        const reader = h.history.historyReader('api');
        assert.equal(reader.stepSeconds, 1);
        same(reader.series('rps', 5, now), [195, 196, 197, 198, 199]);
        // 1 s tier keeps 60 s: seconds 140..199 exact; older seconds get their 10 s bucket's mean
        const long = reader.series('rps', 200, now);
        assert.equal(long.length, 200);
        const expected: number[] = [];
        for (let sec = 0; sec < 200; sec++) expected.push(sec >= 140 ? sec : Math.floor(sec / 10) * 10 + 4.5);
        same(long, expected);
        same(reader.series('missing', 100, now), []);
      } finally {
        await h.close();
      }
    });

    it('prune drops what each tier no longer keeps', async () => {
      const h = await open({ tiers: SMALL, clock: new ManualClock(0, T0) });
      try {
        h.history.record('api', 'rps', T0 - 650_000, 7); // will be older than the 10 s tier keeps (600 s)
        for (let sec = 0; sec < 300; sec++) h.history.record('api', 'rps', T0 + sec * 1000, 1);
        await h.flush();
        const now = T0 + 299_000;
        assert.equal((await h.history.series('api', 'rps', 600, T0 - 100_000)).avg.length > 0, true);
        await h.history.prune(now);
        same((await h.history.series('api', 'rps', 600, T0 - 100_000)).avg, []);
        same((await h.history.series('api', 'rps', 60, T0 + 120_000)).avg, []); // 1 s samples > 60 s old are gone
        assert.equal((await h.history.series('api', 'rps', 60, now)).avg.length, 60);
        const coarse = await h.history.series('api', 'rps', 600, now);
        assert.equal(coarse.stepSeconds, 10);
        same(coarse.avg, new Array(30).fill(1));
      } finally {
        await h.close();
      }
    });

    it('exportCsv writes the simulator trace format with bucket means and leaves gaps out', async () => {
      const clock = new ManualClock(0, T0 + 120_000);
      const h = await open({ tiers: DEFAULT, clock });
      try {
        for (let sec = 0; sec < 120; sec++)
          if (sec < 30 || sec >= 40) h.history.record('api', 'rps', T0 + sec * 1000, sec % 7);
        h.history.record('api', 'rps', T0 + 200_000, 1000); // outside the range
        const csv = await h.history.exportCsv('api', undefined, { from: T0, to: T0 + 120_000, step: 10 });
        const trace = parseTrace(csv, 'export.csv');
        assert.deepEqual([...trace.t], [0, 10, 20, 40, 50, 60, 70, 80, 90, 100, 110]);
        const mean = (a: number) => {
          let s = 0;
          for (let sec = a; sec < a + 10; sec++) s += sec % 7;
          return s / 10;
        };
        for (let i = 0; i < trace.t.length; i++)
          assert.ok(Math.abs(trace.rps[i]! - mean(trace.t[i]!)) < 1e-6);
        assert.deepEqual(trace.gaps, [[30, 40]]);
        const perSecond = parseTrace(await h.history.exportCsv('api', 'rps', { from: T0, to: T0 + 5000 }));
        assert.deepEqual([...perSecond.rps], [0, 1, 2, 3, 4]);
        assert.equal(await h.history.exportCsv('api', 'rps', { from: T0, to: T0 }), 't,rps\n');
        assert.match(await h.history.exportCsv('api', 'cpu', { from: T0, to: T0 + 5000 }), /^t,cpu\n$/);
      } finally {
        await h.close();
      }
    });

    it('exportCsv of a range older than the 1 s tier uses minute buckets', async () => {
      const clock = new ManualClock(0, T0);
      const h = await open({ tiers: DEFAULT, clock });
      try {
        for (let sec = 0; sec < 180; sec++)
          h.history.record('api', 'rps', T0 + sec * 1000, Math.floor(sec / 60) + 1);
        await h.flush();
        clock.advance(3 * 3600_000);
        const trace = parseTrace(
          await h.history.exportCsv('api', 'rps', { from: T0, to: T0 + 180_000, step: 10 }),
        );
        assert.equal(trace.stepSeconds, 60);
        assert.deepEqual([...trace.t], [0, 60, 120]);
        assert.deepEqual([...trace.rps], [1, 2, 3]);
      } finally {
        await h.close();
      }
    });

    it('history survives a reopen (close writes what is queued)', async () => {
      const h = await open({ tiers: DEFAULT, clock: new ManualClock(0, T0) });
      for (let sec = 0; sec < 3; sec++) h.history.record('api', 'rps', T0 + sec * 1000, sec + 1);
      await h.close();
      const h2 = await h.reopen();
      try {
        same((await h2.history.series('api', 'rps', 3, T0 + 2000)).avg, [1, 2, 3]);
      } finally {
        await h2.close();
      }
    });
  });
}
