import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunHistory } from '../../src/simulator/run-history.js';
import { TimeSeriesRing } from '../../src/metrics/time-series-ring.js';
import { seededRandom } from '../../src/simulator/random.js';

test('RunHistory reads exactly what a 1 s TimeSeriesRing fed the same seconds reads', () => {
  const random = seededRandom(42);
  const capacity = 300;
  const h = new RunHistory(['a', 'b'], capacity);
  const ra = new TimeSeriesRing(capacity);
  const rb = new TimeSeriesRing(capacity);
  let sec = 1000;
  for (let run = 0; run < 400; run++) {
    const len = 1 + Math.floor(random() * 20);
    const va = Math.floor(random() * 4); // few distinct values: equal neighbouring runs merge
    const vb = random() < 0.5 ? 1 : 2;
    h.append(sec, [va, vb], len);
    for (let i = 0; i < len; i++) {
      ra.set((sec + i) * 1000, va);
      rb.set((sec + i) * 1000, vb);
    }
    sec += len;
    if (run % 7 === 0) {
      for (const back of [1, 5, 60, capacity, capacity + 50]) {
        for (const ahead of [-1, 0, 2]) {
          const now = (sec + ahead) * 1000 + 500;
          assert.deepEqual(h.series('a', back, now), ra.series(back, now), `a back=${back} ahead=${ahead}`);
          assert.deepEqual(h.series('b', back, now), rb.series(back, now), `b back=${back} ahead=${ahead}`);
        }
      }
    }
  }
  assert.deepEqual(h.series('unknown', 10, sec * 1000), []);
});

test('RunHistory on an empty history returns an empty series', () => {
  const h = new RunHistory(['a'], 60);
  assert.deepEqual(h.series('a', 10, 5000), []);
  assert.equal(h.stepSeconds, 1);
});

test('RunHistory keeps reading right while its store grows and compacts over many runs', () => {
  // 20,000 runs of 1-3 seconds: more runs than the initial store, and the kept window (5,000 s)
  // forgets most of them, so the store both doubles and drops forgotten runs along the way.
  const random = seededRandom(3);
  const capacity = 5000;
  const h = new RunHistory(['a'], capacity);
  const ring = new TimeSeriesRing(capacity);
  let sec = 0;
  for (let run = 0; run < 20_000; run++) {
    const len = 1 + Math.floor(random() * 3);
    const v = run; // every run differs: no merging
    h.append(sec, [v], len);
    for (let i = 0; i < len; i++) ring.set((sec + i) * 1000, v);
    sec += len;
    if (run % 997 === 0 || run === 19_999) {
      for (const back of [1, 30, 2000, capacity]) {
        const now = sec * 1000 - 1;
        assert.deepEqual(h.series('a', back, now), ring.series(back, now), `run=${run} back=${back}`);
      }
    }
  }
});
