/** Engine expositions → one vocabulary: every engine and version gives the same canonical values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  engineSignals,
  quantile,
  readEngine,
  type EngineReading,
} from '../../../src/llm/engines/engine-metrics.js';
import type { Engine } from '../../../src/llm/engines/engine-names.js';

const dir = join(import.meta.dirname, '../../fixtures/engines');
const fixture = (f: string) => readFileSync(join(dir, f), 'utf8');

/** What each recorded exposition says, canonically: one engine state (3 waiting, 4 running, ...). */
function canonical(r: EngineReading) {
  const rate =
    r.prefixQueries !== undefined && r.prefixHits !== undefined
      ? r.prefixHits / r.prefixQueries
      : r.prefixHitRate;
  const ms = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1e6) / 1e3);
  return {
    waiting: r.waiting,
    running: r.running,
    kvUtil: r.kvUtil,
    promptTokens: r.promptTokens,
    generationTokens: r.generationTokens,
    prefixHitRate: rate,
    ttftP50: ms(quantile(r.ttft, 0.5)),
    itlP50: ms(quantile(r.itl, 0.5)),
  };
}

const ALL = {
  waiting: 3,
  running: 4,
  kvUtil: 0.42,
  promptTokens: 12000,
  generationTokens: 3400,
  prefixHitRate: 0.25,
  ttftP50: 87.5,
  itlP50: 15,
};
const absent = <K extends keyof typeof ALL>(...keys: K[]) => ({
  ...ALL,
  ...Object.fromEntries(keys.map((k) => [k, undefined])),
});

const CASES: Array<[string, Engine, Record<string, number | undefined>]> = [
  ['vllm.prom', 'vllm', ALL],
  ['vllm-legacy.prom', 'vllm', ALL],
  ['sglang.prom', 'sglang', ALL],
  ['tgi.prom', 'tgi', absent('kvUtil', 'prefixHitRate', 'ttftP50')],
  ['trtllm.prom', 'trtllm', absent('promptTokens', 'generationTokens', 'prefixHitRate')],
  ['llamacpp.prom', 'llamacpp', absent('kvUtil', 'prefixHitRate', 'ttftP50', 'itlP50')],
  ['llamacpp-legacy.prom', 'llamacpp', absent('prefixHitRate', 'ttftP50', 'itlP50')],
];

for (const [file, engine, expected] of CASES) {
  test(`readEngine: ${file} (${engine}) gives the canonical values, absent ones undefined`, () => {
    assert.deepEqual(canonical(readEngine(engine, fixture(file), 0)), expected);
  });
}

test('readEngine: a gauge the engine lacks is absent, never 0 (llama.cpp current has no KV gauge)', () => {
  const r = readEngine('llamacpp', fixture('llamacpp.prom'), 0);
  assert.equal('kvUtil' in r, false);
  assert.equal(engineSignals(r).kvUtil, undefined);
});

test("readEngine: another engine's names are not read (vLLM text as SGLang gives nothing)", () => {
  assert.deepEqual(readEngine('sglang', fixture('vllm.prom'), 5), { at: 5 });
  assert.deepEqual(readEngine('none', fixture('vllm.prom'), 5), { at: 5 });
});

test('engineSignals: rates, hit rate and percentiles come from the increase between two scrapes', () => {
  const prev = readEngine('vllm', fixture('vllm.prom'), 1000);
  const text = fixture('vllm.prom')
    .replace(/prompt_tokens_total\{[^}]*\} 12000.0/, (m) => m.replace('12000.0', '14000'))
    .replace(/generation_tokens_total\{[^}]*\} 3400.0/, (m) => m.replace('3400.0', '3900'))
    .replace(/prefix_cache_queries_total\{[^}]*\} 8000.0/, (m) => m.replace('8000.0', '10000'))
    .replace(/prefix_cache_hits_total\{[^}]*\} 2000.0/, (m) => m.replace('2000.0', '3500'))
    // ten more first tokens, all between 0.25 and 0.5 s
    .replace(/(time_to_first_token_seconds_bucket\{[^}]*le="0.5"\}) 10/, '$1 20')
    .replace(/(time_to_first_token_seconds_bucket\{[^}]*le="\+Inf"\}) 10/, '$1 20');
  const cur = readEngine('vllm', text, 3000);
  const s = engineSignals(cur, prev);
  assert.equal(s.tokensInRps, 1000);
  assert.equal(s.tokensOutRps, 250);
  assert.equal(s.prefixHitRate, 0.75);
  assert.equal(s.ttftP50, 375); // the middle of (0.25, 0.5]
  assert.equal(s.itlP50, undefined); // no new inter-token observations in the interval
  assert.equal(s.waiting, 3);
});

test('engineSignals: a counter that went down was reset, its value is the increase', () => {
  const prev = { at: 0, promptTokens: 5000 };
  const s = engineSignals({ at: 1000, promptTokens: 300 }, prev);
  assert.equal(s.tokensInRps, 300);
});

test('engineSignals: without a previous scrape only the gauges (and a hit-rate gauge)', () => {
  const s = engineSignals(readEngine('sglang', fixture('sglang.prom'), 0));
  assert.deepEqual(s, { waiting: 3, running: 4, kvUtil: 0.42, prefixHitRate: 0.25 });
});

test('quantile: a rank in the +Inf bucket gives the last finite bound; no observations, undefined', () => {
  assert.equal(quantile({ le: [0.1, Infinity], counts: [1, 10] }, 0.95), 0.1);
  assert.equal(quantile({ le: [0.1, Infinity], counts: [0, 0] }, 0.5), undefined);
  assert.equal(quantile(undefined, 0.5), undefined);
});
