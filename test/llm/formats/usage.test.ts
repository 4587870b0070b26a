import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSseAll, jsonEvent } from '../../../src/llm/formats/sse.js';
import {
  AnthropicStreamUsage,
  OpenaiStreamUsage,
  usageFromAnthropic,
  usageFromOpenai,
  usageToAnthropic,
  usageToOpenai,
} from '../../../src/llm/formats/usage.js';

test('usageFromOpenai: prompt_tokens already includes cached_tokens; reasoning is part of the output', () => {
  assert.deepEqual(
    usageFromOpenai({
      prompt_tokens: 1200,
      completion_tokens: 58,
      total_tokens: 1258,
      prompt_tokens_details: { cached_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 12 },
    }),
    { input: 1200, cachedInput: 1024, cacheWrite: 0, output: 58, reasoning: 12 },
  );
});

test('usageFromOpenai: missing details count as zero; no usage object is undefined', () => {
  assert.deepEqual(usageFromOpenai({ prompt_tokens: 9, completion_tokens: 3 }), {
    input: 9,
    cachedInput: 0,
    cacheWrite: 0,
    output: 3,
    reasoning: 0,
  });
  assert.equal(usageFromOpenai(null), undefined);
  assert.equal(usageFromOpenai(undefined), undefined);
});

test('usageFromAnthropic: input_tokens excludes cache reads and writes, so input adds them back', () => {
  assert.deepEqual(
    usageFromAnthropic({
      input_tokens: 472,
      cache_creation_input_tokens: 1500,
      cache_read_input_tokens: 2048,
      output_tokens: 89,
    }),
    { input: 4020, cachedInput: 2048, cacheWrite: 1500, output: 89, reasoning: 0 },
  );
  assert.deepEqual(usageFromAnthropic({ input_tokens: 25, output_tokens: 1 }), {
    input: 25,
    cachedInput: 0,
    cacheWrite: 0,
    output: 1,
    reasoning: 0,
  });
});

test('usageToAnthropic and usageFromAnthropic are inverse; usageToOpenai keeps cache writes inside prompt_tokens', () => {
  const u = { input: 4020, cachedInput: 2048, cacheWrite: 1500, output: 89, reasoning: 0 };
  assert.deepEqual(usageFromAnthropic(usageToAnthropic(u)), u);
  assert.deepEqual(usageToOpenai(u), {
    prompt_tokens: 4020,
    completion_tokens: 89,
    total_tokens: 4109,
    prompt_tokens_details: { cached_tokens: 2048 },
  });
  const r = { input: 10, cachedInput: 0, cacheWrite: 0, output: 30, reasoning: 20 };
  assert.deepEqual(usageFromOpenai(usageToOpenai(r)), r);
});

test('AnthropicStreamUsage: message_delta counts are cumulative, the last value wins (never summed)', () => {
  const reader = new AnthropicStreamUsage();
  const start = {
    type: 'message_start',
    message: {
      usage: {
        input_tokens: 100,
        cache_read_input_tokens: 50,
        cache_creation_input_tokens: 0,
        output_tokens: 1,
      },
    },
  };
  reader.push(jsonEvent(start, 'message_start'));
  assert.deepEqual(reader.usage, { input: 150, cachedInput: 50, cacheWrite: 0, output: 1, reasoning: 0 });
  reader.push(jsonEvent({ type: 'message_delta', delta: {}, usage: { output_tokens: 40 } }, 'message_delta'));
  reader.push(jsonEvent({ type: 'message_delta', delta: {}, usage: { output_tokens: 75 } }, 'message_delta'));
  assert.equal(reader.usage?.output, 75);
  assert.equal(reader.usage?.input, 150, 'a delta without input fields keeps message_start’s');
  assert.equal(reader.complete, false);
  const last = {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn' },
    usage: {
      input_tokens: 100,
      cache_read_input_tokens: 50,
      cache_creation_input_tokens: 20,
      output_tokens: 80,
    },
  };
  reader.push(jsonEvent(last, 'message_delta'));
  reader.push(jsonEvent({ type: 'message_stop' }, 'message_stop'));
  assert.deepEqual(reader.usage, { input: 170, cachedInput: 50, cacheWrite: 20, output: 80, reasoning: 0 });
  assert.equal(reader.complete, true);
});

test('AnthropicStreamUsage: a null field in a delta keeps the earlier value; no usage seen is undefined', () => {
  const reader = new AnthropicStreamUsage();
  assert.equal(reader.usage, undefined);
  reader.push(
    jsonEvent({ type: 'message_start', message: { usage: { input_tokens: 7, output_tokens: 1 } } }),
  );
  reader.push(jsonEvent({ type: 'message_delta', usage: { input_tokens: null, output_tokens: 5 } }));
  assert.deepEqual(reader.usage, { input: 7, cachedInput: 0, cacheWrite: 0, output: 5, reasoning: 0 });
});

test('OpenaiStreamUsage: takes the include_usage chunk, ignores usage: null, completes on [DONE]', () => {
  const reader = new OpenaiStreamUsage();
  reader.push(jsonEvent({ choices: [{ index: 0, delta: { content: 'a' } }], usage: null }));
  assert.equal(reader.usage, undefined);
  reader.push(
    jsonEvent({
      choices: [],
      usage: { prompt_tokens: 42, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 32 } },
    }),
  );
  assert.deepEqual(reader.usage, { input: 42, cachedInput: 32, cacheWrite: 0, output: 4, reasoning: 0 });
  assert.equal(reader.complete, false);
  reader.push({ data: '[DONE]' });
  assert.equal(reader.complete, true);
});

test('OpenaiStreamUsage: continuous usage (vLLM continuous_usage_stats) keeps the last, not the sum', () => {
  const reader = new OpenaiStreamUsage();
  for (const n of [1, 2, 3])
    reader.push(jsonEvent({ choices: [], usage: { prompt_tokens: 10, completion_tokens: n } }));
  assert.equal(reader.usage?.output, 3);
  reader.push({ data: 'not json' });
  assert.equal(reader.usage?.output, 3);
  assert.match(formatSseAll([jsonEvent({ a: 1 })]), /^data: \{"a":1\}\n\n$/);
});
