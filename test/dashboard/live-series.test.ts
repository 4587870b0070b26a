import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSeries } from '../../src/admin/dashboard/live-series.js';

test('push() keeps only the retention span, measured from the newest sample', () => {
  const s = new LiveSeries(10);
  for (let t = 100; t <= 130; t++) s.push(t, { rps: t });
  assert.equal(s.first, 120);
  assert.equal(s.last, 130);
  assert.equal(s.length, 11);
});

test('columns() puts null where a key has no value, in uPlot order', () => {
  const s = new LiveSeries();
  s.push(1, { a: 1 });
  s.push(2, { a: 2, b: 20 });
  s.push(3, { b: 30 });
  assert.deepEqual(s.columns(['a', 'b']), [
    [1, 2, 3],
    [1, 2, null],
    [null, 20, 30],
  ]);
  assert.deepEqual(s.keys(), ['a', 'b']);
});

test('a sample for the same second merges; an out-of-order one is inserted in place', () => {
  const s = new LiveSeries();
  s.push(10, { a: 1 });
  s.push(12, { a: 3 });
  s.push(12, { b: 4 });
  s.push(11, { a: 2 });
  assert.deepEqual(s.columns(['a', 'b']), [
    [10, 11, 12],
    [1, 2, 3],
    [null, null, 4],
  ]);
});

test('backfill() adds history only up to the first live sample, and the live value wins its second', () => {
  const s = new LiveSeries(100);
  s.push(50, { rps: 5 });
  s.backfill('rps', [
    [30, 1],
    [40, 2],
    [50, 99],
    [60, 99],
  ]);
  s.backfill('queue', [[40, 7], [NaN, 1] as any, [45, Infinity]]);
  assert.deepEqual(s.columns(['rps', 'queue']), [
    [30, 40, 50],
    [1, 2, 5],
    [null, 7, null],
  ]);
});

test('backfill() trims history older than the span', () => {
  const s = new LiveSeries(60);
  s.push(1000, { rps: 1 });
  s.backfill('rps', [
    [900, 1],
    [950, 2],
    [999, 3],
  ]);
  assert.deepEqual(s.columns(['rps'])[0], [950, 999, 1000]);
});

test('latest() is the newest row and keys(prefix) filters per-instance keys', () => {
  const s = new LiveSeries();
  s.push(1, { cpu: 1, 'cpu:a': 2, 'cpu:b': 3, 'mem:a': 4 });
  assert.deepEqual(s.keys('cpu:'), ['cpu:a', 'cpu:b']);
  assert.equal(s.latest()?.['mem:a'], 4);
});
