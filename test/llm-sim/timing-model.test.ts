import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  interTokenMs,
  jittered,
  loadFactor,
  prefillMs,
  type TimingParams,
} from '../../src/llm-sim/timing-model.js';
import { seededRandom } from '../../src/llm-sim/random.js';

const params: TimingParams = {
  prefillOverheadMs: 30,
  prefillPerTokenMs: 0.2,
  ttftMs: 0,
  ttftStdDevMs: 0,
  itlMs: 12,
  itlStdDevMs: 0,
  timeFactorUnderLoad: 3,
  maxNumSeqs: 5,
};

test('the load factor grows linearly from 1 at one sequence to time-factor-under-load at max-num-seqs', () => {
  const rows: Array<[number, number]> = [
    [0, 1],
    [1, 1],
    [2, 1.5],
    [3, 2],
    [5, 3],
    [9, 3],
  ];
  for (const [running, factor] of rows)
    assert.equal(loadFactor(running, params), factor, `running ${running}`);
});

test('prefill = overhead + uncached tokens × per-token time, times the load factor', () => {
  const rows: Array<[prompt: number, cached: number, running: number, ms: number]> = [
    [100, 0, 1, 30 + 20],
    [100, 64, 1, 30 + 36 * 0.2],
    [1000, 0, 3, (30 + 200) * 2],
    [16, 16, 1, 30],
  ];
  for (const [prompt, cached, running, ms] of rows)
    assert.ok(
      Math.abs(prefillMs({ promptTokens: prompt, cachedTokens: cached, running }, params) - ms) < 1e-9,
      `${prompt}/${cached}/${running}`,
    );
});

test('a constant --ttft replaces the prefill formula', () => {
  assert.equal(prefillMs({ promptTokens: 1000, cachedTokens: 0, running: 1 }, { ...params, ttftMs: 80 }), 80);
});

test('the inter-token gap is itl times the load factor', () => {
  assert.equal(interTokenMs(1, params), 12);
  assert.equal(interTokenMs(5, params), 36);
});

test('jitter keeps within ±70 % of the mean with its std-dev capped at 30 %, and repeats with the seed', () => {
  const a = seededRandom(1);
  const samples = Array.from({ length: 5000 }, () => jittered(100, 1000, a));
  assert.ok(Math.min(...samples) >= 30 && Math.max(...samples) <= 170);
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  const sd = Math.sqrt(samples.reduce((s, x) => s + (x - mean) ** 2, 0) / samples.length);
  assert.ok(Math.abs(mean - 100) < 3, `mean ${mean}`);
  assert.ok(sd > 20 && sd <= 30, `sd ${sd}`);
  const b = seededRandom(1);
  assert.deepEqual(
    Array.from({ length: 10 }, () => jittered(100, 1000, b)),
    samples.slice(0, 10),
  );
});
