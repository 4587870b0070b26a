import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { GenAiMetrics } from '../../../src/llm/metrics/genai-metrics.js';

test('record() feeds the OTel GenAI histograms by token type, model and consumer', async () => {
  const registry = new Registry();
  const m = new GenAiMetrics({ registry });
  m.record({ model: 'gpt', consumer: 'alice', input: 100, output: 11, ttftMs: 250, durationMs: 1250 });
  m.record({ model: 'gpt', consumer: 'alice', input: 20, output: 0, ttftMs: null, durationMs: 40 });
  const text = await registry.metrics();
  const line = (name: string) => {
    const l = text.split('\n').find((x) => x.startsWith(name));
    assert.ok(l, `no line ${name} in\n${text}`);
    return Number(l.split(' ').pop());
  };
  const labels = 'gen_ai_request_model="gpt",consumer="alice",gen_ai_operation_name="chat"';
  assert.equal(line(`gen_ai_client_token_usage_sum{${labels},gen_ai_token_type="input"}`), 120);
  assert.equal(line(`gen_ai_client_token_usage_count{${labels},gen_ai_token_type="input"}`), 2);
  assert.equal(line(`gen_ai_client_token_usage_sum{${labels},gen_ai_token_type="output"}`), 11);
  assert.equal(line(`gen_ai_server_time_to_first_token_sum{${labels}}`), 0.25);
  assert.equal(line(`gen_ai_server_time_to_first_token_count{${labels}}`), 1, 'no first token, no sample');
  // (1250 − 250) ms over the 10 tokens after the first
  assert.equal(line(`gen_ai_server_time_per_output_token_sum{${labels}}`), 0.1);
  assert.match(text, /# TYPE gen_ai_client_token_usage histogram/);
  assert.match(text, /gen_ai_server_time_to_first_token_bucket\{le="0\.25",/);
});
