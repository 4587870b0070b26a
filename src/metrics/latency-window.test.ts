import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyWindow } from './latency-window.js';
import { Ewma, PeakEwma } from './ewma.js';
import { TimeSeriesRing, createHistoryRing } from './time-series-ring.js';

const near = (actual: number, expected: number, rel = 0.02) =>
  assert.ok(
    Math.abs(actual - expected) <= expected * rel + 1e-9,
    `${actual} not within ${rel * 100}% of ${expected}`,
  );

test('LatencyWindow percentiles are within 1 % of the exact values', () => {
  const w = new LatencyWindow();
  for (let i = 1; i <= 1000; i++) w.record(500, i); // 1..1000 ms in one second
  const p = w.percentiles(900, 10);
  near(p.p50, 500);
  near(p.p95, 950);
  near(p.p99, 990);
  assert.equal(p.count, 1000);
});

test('LatencyWindow merges per-second buckets over the window only', () => {
  const w = new LatencyWindow();
  for (let i = 0; i < 100; i++) w.record(0, 1000); // old and slow
  for (let i = 0; i < 100; i++) w.record(30_000, 10); // recent and fast
  near(w.percentiles(30_500, 10).p99, 10);
  near(w.percentiles(30_500, 60).p99, 1000);
  assert.equal(w.percentiles(30_500, 60).count, 200);
  assert.equal(w.percentiles(200_000, 60).count, 0);
});

test('LatencyWindow keeps sub-millisecond resolution and clamps huge values', () => {
  const w = new LatencyWindow({ maxMs: 1000 });
  w.record(0, 0.25);
  near(w.percentiles(0, 1).p50, 0.25);
  w.record(0, 1e9);
  assert.ok(w.percentiles(0, 1).max <= 1001);
  w.record(0, -5);
  w.record(0, Number.NaN);
  assert.equal(w.totalCount, 2);
});

test('LatencyWindow reuses a slot one lap later without mixing in old samples', () => {
  const w = new LatencyWindow({ seconds: 4 });
  w.record(0, 100);
  w.record(4_000, 1);
  assert.equal(w.percentiles(4_000, 4).count, 1);
  near(w.percentiles(4_000, 4).p50, 1);
});

test('Ewma decays towards new samples with e^(-dt/tau)', () => {
  const e = new Ewma(1000);
  e.observe(0, 10);
  e.observe(1000, 0);
  near(e.value, 10 * Math.exp(-1), 1e-9);
  assert.equal(e.seeded, true);
});

test('PeakEwma jumps to a higher sample at once and decays on lower ones', () => {
  const p = new PeakEwma(1000);
  p.observe(0, 5);
  p.observe(10, 50);
  assert.equal(p.value, 50);
  p.observe(1010, 5);
  near(p.value, 50 * Math.exp(-1) + 5 * (1 - Math.exp(-1)), 1e-9);
  assert.ok(p.cost(3) > p.cost(0));
  assert.equal(new PeakEwma().cost(1, 2), 4);
});

test('TimeSeriesRing.series is regular, ends at now and marks gaps with NaN', () => {
  const r = new TimeSeriesRing(10);
  r.set(1_000, 1);
  r.set(3_500, 3);
  r.set(3_900, 33); // last write in a second wins
  assert.deepEqual(r.series(5, 4_000), [1, Number.NaN, 33, Number.NaN]);
  assert.deepEqual(r.series(2, 4_000), [33, Number.NaN]);
  assert.equal(r.get(3_000), 33);
});

test('createHistoryRing implements HistoryReader over many metrics', () => {
  const h = createHistoryRing({ seconds: 120 });
  for (let s = 0; s < 5; s++) h.recordAll(s * 1000, { rps: s, latency: { p95: s * 10 }, name: 'x' });
  assert.deepEqual(h.series('rps', 3, 4_000), [2, 3, 4]);
  assert.deepEqual(h.series('latency.p95', 2, 4_000), [30, 40]);
  assert.deepEqual(h.series('missing', 3, 4_000), []);
  assert.equal(h.stepSeconds, 1);
  assert.deepEqual(h.metrics().sort(), ['latency.p95', 'rps']);
});
