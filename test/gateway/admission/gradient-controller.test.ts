import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradientController } from '../../../src/gateway/admission/gradient-controller.js';

/** Measures minRTT with `count` samples of `rttMs` starting at `t`; returns the next time. */
function measure(c: GradientController, t: number, rttMs: number, count = 50): number {
  for (let i = 0; i < count; i++) c.sample(t + i, rttMs);
  return t + count;
}

test('the controller starts pinned at minConcurrency while it measures minRTT', () => {
  const c = new GradientController({ random: () => 0 });
  assert.equal(c.limit(0), 3);
  assert.equal(c.stats().state, 'measuring');
  const t = measure(c, 0, 10, 49);
  assert.equal(c.stats().state, 'measuring');
  c.sample(t, 10);
  assert.equal(c.stats().state, 'adjusting');
  // HdrHistogram reports the bucket's highest equivalent value: within 1 % (2 significant digits)
  assert.ok(Math.abs(c.stats().minRttMs - 10) <= 0.1, String(c.stats().minRttMs));
});

test('limit grows by L·g + √(L·g) while sample RTT stays near minRTT (g = 1.25 → 2 clamp)', () => {
  const c = new GradientController({ random: () => 0, minConcurrency: 3 });
  let t = measure(c, 0, 10);
  // window 1: samples at minRTT → gradient = 10·1.25/10 = 1.25
  c.sample(t + 10, 10);
  t += 100;
  const L = c.limit(t); // window closes
  const expected = Math.floor(3 * 1.25 + Math.sqrt(3 * 1.25));
  assert.equal(L, expected);
  assert.equal(c.stats().gradient, 1.25);
  assert.ok(Math.abs(c.stats().burstHeadroom - Math.sqrt(3 * 1.25)) < 1e-9);
});

test('limit shrinks when sample RTT rises well above minRTT (gradient floor 0.5)', () => {
  const c = new GradientController({ random: () => 0 });
  let t = measure(c, 0, 10);
  // grow for a while
  for (let w = 0; w < 10; w++) {
    c.sample(t + 1, 10);
    t += 100;
    c.tick(t);
  }
  const high = c.limit(t);
  assert.ok(high > 50, `limit only grew to ${high}`);
  c.sample(t + 1, 100); // 10× slower: raw gradient 0.125, clamped to 0.5
  t += 100;
  const low = c.limit(t);
  assert.equal(c.stats().gradient, 0.5);
  assert.equal(low, Math.floor(high * 0.5 + Math.sqrt(high * 0.5)));
});

test('a window without samples leaves the limit alone', () => {
  const c = new GradientController({ random: () => 0 });
  let t = measure(c, 0, 10);
  c.sample(t, 10);
  t += 100;
  const L = c.limit(t);
  t += 1000;
  assert.equal(c.limit(t), L);
});

test('minRTT is measured again after the interval plus jitter, and the limit restored after', () => {
  const c = new GradientController({ random: () => 0.5, jitterPercent: 20, minRttIntervalMs: 10_000 });
  let t = measure(c, 0, 10);
  const end = t - 1; // the measurement ended with its 50th sample
  c.sample(t + 1, 10);
  t += 100;
  const L = c.limit(t);
  // due at end + 10 s × (1 + 0.5 × 0.2) = end + 11 s
  assert.equal(c.limit(end + 10_999), L);
  assert.equal(c.stats().state, 'adjusting');
  assert.equal(c.limit(end + 11_000), 3);
  assert.equal(c.stats().state, 'measuring');
  measure(c, end + 11_000, 20);
  assert.ok(Math.abs(c.stats().minRttMs - 20) <= 0.2);
  assert.equal(c.limit(end + 11_050), L);
});

test('five windows in a row at the minimum limit trigger a new minRTT measurement', () => {
  const c = new GradientController({ random: () => 0 });
  let t = measure(c, 0, 1);
  for (let w = 0; w < 6 && c.stats().state === 'adjusting'; w++) {
    c.sample(t + 1, 100); // far slower than minRTT: stays at the minimum
    t += 100;
    c.tick(t);
  }
  assert.equal(c.stats().state, 'measuring');
});

test('the limit never leaves [minConcurrency, maxConcurrencyLimit]', () => {
  const c = new GradientController({
    random: () => 0,
    maxConcurrencyLimit: 20,
    minConcurrency: 2,
    minRttRequestCount: 5,
  });
  let t = measure(c, 0, 10, 5);
  for (let w = 0; w < 50; w++) {
    c.sample(t + 1, w % 7 === 0 ? 1000 : 5);
    t += 100;
    const L = c.limit(t);
    assert.ok(L >= 2 && L <= 20, `limit ${L}`);
  }
});

test('bad parameters are rejected', () => {
  assert.throws(() => new GradientController({ minConcurrency: 0 }), RangeError);
  assert.throws(() => new GradientController({ sampleAggregatePercentile: 0 }), RangeError);
});

test('under saturating demand the limit settles near the capacity knee: 1.25·C + √(1.25·C)', () => {
  // A server with C = 100 slots: RTT stays at 10 ms up to C in flight, then grows linearly (queueing).
  const C = 100;
  const rttAt = (inflight: number) => 10 * Math.max(1, inflight / C);
  const c = new GradientController({ random: () => 0, minRttIntervalMs: 3_600_000 });
  let t = 0;
  for (let i = 0; i < 50; i++) c.sample(t++, rttAt(3)); // minRTT measured at 3 in flight
  const seen: number[] = [];
  for (let w = 0; w < 300; w++) {
    const L = c.limit(t);
    for (let i = 0; i < 20; i++) c.sample(t + i, rttAt(L)); // demand always fills the limit
    t += 100;
    seen.push(L);
  }
  const settled = seen.slice(-50);
  const expected = 1.25 * C + Math.sqrt(1.25 * C); // fixed point of L = g·L + √(g·L), g = 1.25·C/L
  for (const L of settled)
    assert.ok(Math.abs(L - expected) <= 0.05 * expected, `limit ${L}, expected ≈ ${expected.toFixed(1)}`);
});
