import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitForecast, forecastAhead, smape, updateForecast, wape } from './forecast.js';

/** A daily-like season of `m` points: base + amplitude × sin, plus deterministic noise. */
function seasonal(
  n: number,
  m: number,
  opts: { base?: number; amp?: number; slope?: number; noise?: number } = {},
): number[] {
  const { base = 100, amp = 50, slope = 0, noise = 0 } = opts;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  return Array.from(
    { length: n },
    (_, t) => base + slope * t + amp * Math.sin((2 * Math.PI * t) / m) + noise * rnd(),
  );
}

test('Holt-Winters learns a clean season and forecasts the next one within 2 %', () => {
  const m = 48;
  const y = seasonal(m * 6, m);
  const model = fitForecast(y, { season: m, horizon: 4 });
  assert.ok(model);
  assert.equal(model.kind, 'holt-winters');
  const truth = seasonal(m * 7, m).slice(m * 6);
  const pred = truth.map((_, i) => forecastAhead(model, i + 1));
  assert.ok(wape(truth, pred) < 0.02, `wape ${wape(truth, pred)}`);
  assert.ok(model.accuracy.wape < 0.02);
});

test('Holt-Winters beats Holt on a seasonal series, and says so in its accuracy', () => {
  const m = 24;
  const y = seasonal(m * 8, m, { noise: 10 });
  const hw = fitForecast(y, { season: m, horizon: 3 })!;
  const holt = fitForecast(y, { season: 0, horizon: 3 })!;
  assert.equal(holt.kind, 'holt');
  assert.ok(hw.accuracy.wape < holt.accuracy.wape, `hw ${hw.accuracy.wape} vs holt ${holt.accuracy.wape}`);
});

test('with less than two seasons the fit falls back to Holt linear and follows a trend', () => {
  const y = Array.from({ length: 30 }, (_, t) => 10 + 2 * t);
  const model = fitForecast(y, { season: 24, horizon: 1 })!;
  assert.equal(model.kind, 'holt');
  const next = forecastAhead(model, 1);
  assert.ok(Math.abs(next - 70) < 2, `next ${next}`);
});

test('a noisy, unpredictable series reports a poor accuracy', () => {
  let seed = 3;
  const y = Array.from({ length: 300 }, () => ((seed = (seed * 16807) % 2147483647) % 2 === 0 ? 0 : 100));
  const model = fitForecast(y, { season: 24, horizon: 2 })!;
  assert.ok(model.accuracy.wape > 0.5, `wape ${model.accuracy.wape}`);
});

test('updateForecast continues the recursion: fitting on n points then feeding the rest equals the truth', () => {
  const m = 24;
  const y = seasonal(m * 6, m);
  const model = fitForecast(y.slice(0, m * 5), { season: m, alpha: 0.3, beta: 0.02, gamma: 0.1 })!;
  for (const v of y.slice(m * 5)) updateForecast(model, v);
  assert.equal(model.n, m * 6);
  const expected = seasonal(m * 6 + 1, m)[m * 6]!;
  assert.ok(Math.abs(forecastAhead(model, 1) - expected) < 2);
});

test('fitForecast needs at least 4 points', () => {
  assert.equal(fitForecast([1, 2, 3], { season: 0 }), undefined);
});

test('wape and smape', () => {
  assert.equal(wape([10, 10], [9, 11]), 0.1);
  assert.equal(wape([0, 0], [0, 0]), 0);
  assert.equal(wape([0], [1]), Infinity);
  assert.ok(Math.abs(smape([100], [50]) - 2 / 3) < 1e-12);
  assert.equal(smape([0], [0]), 0);
});

test('fitting a week of per-minute buckets is fast enough to refit every few hours', () => {
  const y = seasonal(7 * 1440, 1440, { noise: 20 });
  const t0 = performance.now();
  const model = fitForecast(y, { season: 1440, horizon: 2 })!;
  const ms = performance.now() - t0;
  assert.equal(model.kind, 'holt-winters');
  assert.ok(ms < 500, `fit took ${ms} ms`);
});
