import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyMix, WindowLatency } from '../../src/simulator/latency-mix.js';

test('a mix of identical seconds gives back their p50 and p95 (within the 1 % bucket)', () => {
  const mix = new LatencyMix();
  for (let i = 0; i < 100; i++) mix.add({ p50: 50, p95: 80, p99: 120 }, 10);
  assert.equal(mix.total, 1000);
  assert.ok(Math.abs(mix.quantile(0.5) / 50 - 1) <= 0.01);
  assert.ok(Math.abs(mix.quantile(0.95) / 80 - 1) <= 0.01);
});

test('the mix weights seconds by requests: a busy slow second dominates a quiet fast one', () => {
  const mix = new LatencyMix();
  mix.add({ p50: 50, p95: 60, p99: 70 }, 1);
  mix.add({ p50: 900, p95: 1000, p99: 1100 }, 99);
  assert.ok(mix.quantile(0.95) >= 990);
  assert.equal(new LatencyMix().quantile(0.95), 0);
});

test('WindowLatency is exact on one second and conservative on a mixture', () => {
  const w = new WindowLatency();
  assert.equal(w.quantile(0.95), 0);
  w.add({ p50: 50, p95: 80, p99: 120 }, 10);
  w.add({ p50: 50, p95: 80, p99: 120 }, 30); // merged with the previous second
  assert.equal(w.quantile(0.5), 50);
  assert.equal(w.quantile(0.95), 80);
  assert.equal(w.quantile(0.99), 120);
  w.add({ p50: 400, p95: 500, p99: 600 }, 40);
  // half the requests had p95 500: the window p95 is in the slow second's band
  assert.ok(w.quantile(0.95) >= 500);
  w.reset();
  assert.equal(w.quantile(0.5), 0);
});
