/** llm-sim's /metrics: parseable Prometheus text in vLLM's, vLLM's older and llama.cpp's names. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLlmSim, type LlmSim, type LlmSimOptions } from '../../src/llm-sim/index.js';

const sims: LlmSim[] = [];
after(() => Promise.all(sims.map((s) => s.close())));

async function sim(options: Partial<LlmSimOptions> = {}): Promise<LlmSim> {
  const s = await startLlmSim({ port: 0, timeScale: 0.01, maxModelLen: 4096, ...options });
  sims.push(s);
  return s;
}

/** Parses the text exposition format strictly: every line a comment or `name{labels} value`. */
function parseProm(text: string): { types: Map<string, string>; samples: Map<string, number> } {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(
        line,
      );
    assert.ok(sample, `not a Prometheus sample line: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return { types, samples };
}

function post(s: LlmSim, body: object, headers: Record<string, string> = {}) {
  return fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'llm-sim', ...body }),
  });
}

const ask = (content: string, max_tokens = 5) => ({ messages: [{ role: 'user', content }], max_tokens });

test('vllm names: gauges, token counters equal to stats(), prefix hits, TTFT and ITL histograms', async () => {
  const s = await sim();
  const long = 'Prefix caching skips the prefill of a repeated prompt. '.repeat(20);
  await (await post(s, ask(long))).text();
  await (await post(s, ask(long))).text();
  await (await post(s, ask('short', 7))).text();
  const { types, samples } = parseProm(await (await fetch(`${s.url}/metrics`)).text());
  const m = '{model_name="llm-sim"}';
  for (const [name, type] of [
    ['vllm:num_requests_running', 'gauge'],
    ['vllm:num_requests_waiting', 'gauge'],
    ['vllm:kv_cache_usage_perc', 'gauge'],
    ['vllm:cache_config_info', 'gauge'],
    ['vllm:prompt_tokens_total', 'counter'],
    ['vllm:generation_tokens_total', 'counter'],
    ['vllm:prefix_cache_queries_total', 'counter'],
    ['vllm:prefix_cache_hits_total', 'counter'],
    ['vllm:request_success_total', 'counter'],
    ['vllm:time_to_first_token_seconds', 'histogram'],
    ['vllm:inter_token_latency_seconds', 'histogram'],
    ['vllm:e2e_request_latency_seconds', 'histogram'],
    ['vllm:request_queue_time_seconds', 'histogram'],
    ['vllm:request_prompt_tokens', 'histogram'],
    ['vllm:request_generation_tokens', 'histogram'],
  ])
    assert.equal(types.get(name), type, name);
  assert.equal(types.has('vllm:gpu_cache_usage_perc'), false);
  const totals = s.stats().totals;
  assert.equal(samples.get(`vllm:prompt_tokens_total${m}`), totals.promptTokens);
  assert.equal(samples.get(`vllm:generation_tokens_total${m}`), totals.completionTokens);
  assert.equal(samples.get(`vllm:generation_tokens_total${m}`), 17);
  assert.equal(samples.get(`vllm:prefix_cache_hits_total${m}`), totals.cachedTokens);
  assert.ok(totals.cachedTokens > 0);
  assert.equal(samples.get(`vllm:prefix_cache_queries_total${m}`), totals.promptTokens);
  assert.equal(samples.get(`vllm:time_to_first_token_seconds_count${m}`), 3);
  assert.equal(samples.get(`vllm:inter_token_latency_seconds_count${m}`), 17 - 3);
  assert.equal(samples.get('vllm:request_success_total{model_name="llm-sim",finished_reason="length"}'), 3);
  assert.equal(samples.get('vllm:cache_config_info{block_size="16",num_gpu_blocks="1024"}'), 1);
});

test('the gauges show running, waiting and KV usage while requests are in the engine', async () => {
  const s = await sim({ maxNumSeqs: 1, kvBlocks: 100 });
  const stalled = await post(s, { ...ask('x'), stream: true }, { 'x-llm-sim-fault': 'stall:forever' });
  const waiting = await post(s, { ...ask('y'), stream: true });
  const { samples } = parseProm(await (await fetch(`${s.url}/metrics`)).text());
  const m = '{model_name="llm-sim"}';
  assert.equal(samples.get(`vllm:num_requests_running${m}`), 1);
  assert.equal(samples.get(`vllm:num_requests_waiting${m}`), 1);
  assert.equal(samples.get(`vllm:kv_cache_usage_perc${m}`), 0.01); // one block of 100
  await stalled.body?.cancel();
  await waiting.text();
  await s.idle();
  const after = parseProm(await (await fetch(`${s.url}/metrics`)).text()).samples;
  assert.equal(after.get(`vllm:num_requests_running${m}`), 0);
  assert.equal(after.get(`vllm:kv_cache_usage_perc${m}`), 0);
  assert.equal(after.get('vllm:request_success_total{model_name="llm-sim",finished_reason="abort"}'), 1);
});

test('--metric-names legacy uses the names before vLLM’s renames', async () => {
  const s = await sim({ metricNames: 'legacy' });
  await (await post(s, ask('hello'))).text();
  const { types } = parseProm(await (await fetch(`${s.url}/metrics`)).text());
  for (const name of [
    'vllm:gpu_cache_usage_perc',
    'vllm:time_per_output_token_seconds',
    'vllm:gpu_prefix_cache_queries_total',
    'vllm:gpu_prefix_cache_hits_total',
    'vllm:num_requests_waiting',
  ])
    assert.ok(types.has(name), name);
  assert.equal(types.has('vllm:kv_cache_usage_perc'), false);
  assert.equal(types.has('vllm:inter_token_latency_seconds'), false);
});

test('--metric-names llamacpp uses llama.cpp server’s names, without labels', async () => {
  const s = await sim({ metricNames: 'llamacpp' });
  await (await post(s, ask('hello', 4))).text();
  const { types, samples } = parseProm(await (await fetch(`${s.url}/metrics`)).text());
  for (const name of [
    'llamacpp:prompt_tokens_total',
    'llamacpp:tokens_predicted_total',
    'llamacpp:prompt_seconds_total',
    'llamacpp:tokens_predicted_seconds_total',
    'llamacpp:requests_processing',
    'llamacpp:requests_deferred',
    'llamacpp:kv_cache_usage_ratio',
  ])
    assert.ok(types.has(name), name);
  assert.ok([...types.keys()].every((n) => n.startsWith('llamacpp:')));
  assert.equal(samples.get('llamacpp:tokens_predicted_total'), 4);
  assert.equal(samples.get('llamacpp:prompt_tokens_total'), s.stats().totals.promptTokens);
});
