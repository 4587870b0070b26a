import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlidingWindow } from './sliding-window.js';
import { GaugeWindow } from './gauge-window.js';
import { TimeWeightedGauge } from './time-weighted-gauge.js';

test('SlidingWindow.rate averages the last complete seconds and leaves out the current one', () => {
  const w = new SlidingWindow(60);
  for (let s = 0; s < 10; s++) for (let k = 0; k < 5; k++) w.add(s * 1000 + k * 100);
  w.add(10_500, 100); // the current, partial second
  assert.equal(w.rate(10_500, 10), 5);
  assert.equal(w.sum(10_500, 3), 15);
  assert.equal(w.total, 150);
});

test('SlidingWindow forgets a bucket one lap later instead of adding to it', () => {
  const w = new SlidingWindow(4);
  w.add(0, 7);
  w.add(4_000, 1); // same slot, next lap
  assert.equal(w.at(4_000), 1);
  assert.equal(w.at(0), 0);
  assert.equal(w.sum(5_000, 3), 1);
});

test('SlidingWindow reads zero after a long idle gap (no stale buckets)', () => {
  const w = new SlidingWindow(60);
  for (let i = 0; i < 100; i++) w.add(i * 10);
  assert.equal(w.rate(500_000, 60), 0);
  assert.equal(w.total, 100);
});

test('SlidingWindow drops a sample older than the ring but keeps it in the total', () => {
  const w = new SlidingWindow(4);
  w.add(10_000); // second 10 holds slot 2
  w.add(2_000); // second 2 maps to slot 2 too, but is a lap older: dropped
  w.add(9_000); // second 9 is inside the ring: kept
  assert.equal(w.at(10_000), 1);
  assert.equal(w.at(2_000), 0);
  assert.equal(w.sum(11_000, 3), 2);
  assert.equal(w.total, 3);
});

test('SlidingWindow rejects a ring shorter than 2 s', () => {
  assert.throws(() => new SlidingWindow(1), RangeError);
});

test('GaugeWindow reports mean and max over the window including the current second', () => {
  const g = new GaugeWindow(60);
  g.record(0, 10);
  g.record(1_200, 30);
  g.record(1_900, 20);
  assert.equal(g.mean(1_950, 2), 20);
  assert.equal(g.max(1_950, 2), 30);
  assert.equal(g.count(1_950, 1), 2);
  assert.equal(g.mean(70_000, 10), 0);
  assert.equal(g.last, 20);
});

test('TimeWeightedGauge averages a level by the time it held (Little law concurrency)', () => {
  const g = new TimeWeightedGauge(60, 0);
  g.set(0, 4); // 4 in flight for 2.5 s
  g.set(2_500, 0); // then idle
  assert.equal(g.average(10_000, 10), 1); // 4 × 2.5 s / 10 s
  assert.equal(g.peak(10_000, 10), 4);
  assert.equal(g.level, 0);
});

test('TimeWeightedGauge counts a level still holding at read time', () => {
  const g = new TimeWeightedGauge(60, 0);
  g.add(1_000, 2);
  assert.equal(g.average(5_000, 4), 2);
  assert.equal(g.average(5_000, 2), 2);
  g.add(5_000, -2);
  assert.equal(g.average(9_000, 8), 1);
});

test('TimeWeightedGauge survives a gap longer than its ring', () => {
  const g = new TimeWeightedGauge(10, 0);
  g.set(0, 3);
  g.set(1_000_000, 1);
  assert.ok(Math.abs(g.average(1_000_000, 5) - 3) < 1e-9);
  assert.ok(Math.abs(g.average(1_005_000, 5) - 1) < 1e-9);
});
