// The stream translators' edges that the golden transcripts do not cover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnthropicToOpenaiStream } from '../../../src/llm/formats/anthropic-to-openai-stream.js';
import { OpenaiToAnthropicStream } from '../../../src/llm/formats/openai-to-anthropic-stream.js';
import { jsonEvent, type SseEvent } from '../../../src/llm/formats/sse.js';

const data = (events: SseEvent[]) => events.map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data)));
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  jsonEvent({ id: 'c1', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });

test('AnthropicToOpenaiStream without include_usage: no chunk has a usage key and no usage chunk is sent', () => {
  const t = new AnthropicToOpenaiStream({ includeUsage: false, created: 5 });
  const out = [
    ...t.push(
      jsonEvent({
        type: 'message_start',
        message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 3, output_tokens: 1 } },
      }),
    ),
    ...t.push(
      jsonEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }),
    ),
    ...t.push(
      jsonEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }),
    ),
    ...t.push(jsonEvent({ type: 'message_stop' })),
  ];
  const parsed = data(out);
  assert.equal(parsed.length, 4);
  assert.equal(parsed[3], '[DONE]');
  for (const c of parsed.slice(0, 3)) assert.equal('usage' in c, false);
  assert.equal(parsed[2].choices[0].finish_reason, 'stop');
  assert.equal(t.done, true);
  assert.deepEqual(t.push(jsonEvent({ type: 'message_stop' })), [], 'nothing after the end');
  assert.deepEqual(t.end(), []);
});

test('AnthropicToOpenaiStream: ping and an empty thinking block produce nothing, a thinking_delta is reasoning_content; a malformed event ends with an error and [DONE]', () => {
  const t = new AnthropicToOpenaiStream({ includeUsage: true, created: 5 });
  assert.deepEqual(t.push(jsonEvent({ type: 'ping' })), []);
  assert.equal(t.push(jsonEvent({ type: 'message_start', message: { id: 'm1', model: 'c' } })).length, 1);
  assert.deepEqual(
    t.push(
      jsonEvent({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
    ),
    [],
  );
  const thought = data(
    t.push(
      jsonEvent({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'thinking_delta', thinking: 'hmm' },
      }),
    ),
  );
  assert.deepEqual(thought[0].choices[0].delta, { reasoning_content: 'hmm' });
  assert.deepEqual(
    t.push(
      jsonEvent({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'signature_delta', signature: 'x' },
      }),
    ),
    [],
  );
  const out = data(
    t.push({
      event: 'content_block_delta',
      data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":',
    }),
  );
  assert.equal(out[0].error.type, 'server_error');
  assert.match(out[0].error.message, /not JSON/);
  assert.equal(out[1], '[DONE]');
});

test('AnthropicToOpenaiStream: a stream that ends after message_delta but before message_stop still finishes', () => {
  const t = new AnthropicToOpenaiStream({ includeUsage: true, created: 5 });
  t.push(
    jsonEvent({
      type: 'message_start',
      message: { id: 'm1', model: 'c', usage: { input_tokens: 3, output_tokens: 1 } },
    }),
  );
  t.push(
    jsonEvent({ type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 9 } }),
  );
  const out = data(t.end());
  assert.equal(out[0].choices[0].finish_reason, 'length');
  assert.deepEqual(out[1].usage, {
    prompt_tokens: 3,
    completion_tokens: 9,
    total_tokens: 12,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  assert.equal(out[2], '[DONE]');
});

test('AnthropicToOpenaiStream.fail: a timeout ends the stream with an error chunk and [DONE], once', () => {
  const t = new AnthropicToOpenaiStream({ includeUsage: false, created: 5 });
  t.push(jsonEvent({ type: 'message_start', message: { id: 'm1', model: 'c' } }));
  const out = data(t.fail('no token within 30 s', 'timeout'));
  assert.deepEqual(out, [
    { error: { message: 'no token within 30 s', type: 'timeout', param: null, code: null } },
    '[DONE]',
  ]);
  assert.deepEqual(t.fail('again'), []);
  assert.deepEqual(t.end(), []);
});

test('OpenaiToAnthropicStream: model option, refusal as text, an empty stream that ends is an error', () => {
  const t = new OpenaiToAnthropicStream({ model: 'client-model', inputTokens: 12 });
  const first = data(t.push(chunk({ role: 'assistant', content: '' })));
  assert.equal(first[0].message.model, 'client-model');
  assert.equal(first[0].message.usage.input_tokens, 12);
  const refusal = data(t.push(chunk({ refusal: 'no' })));
  assert.deepEqual(refusal[1].delta, { type: 'text_delta', text: 'no' });
  const cut = new OpenaiToAnthropicStream();
  assert.deepEqual(data(cut.end()), [
    {
      type: 'error',
      error: { type: 'api_error', message: 'the backend stream ended before it was complete' },
    },
  ]);
});

test('OpenaiToAnthropicStream: finish_reason seen but no [DONE] (usage chunk lost) still ends with message_stop', () => {
  const t = new OpenaiToAnthropicStream();
  t.push(chunk({ content: 'a' }));
  t.push(chunk({}, 'stop'));
  const out = data(t.end());
  assert.deepEqual(
    out.map((e) => e.type),
    ['content_block_stop', 'message_delta', 'message_stop'],
  );
  assert.deepEqual(out[1].usage, { output_tokens: 0 });
});

test('OpenaiToAnthropicStream: a tool call fragment for an earlier call goes to that call’s block', () => {
  const t = new OpenaiToAnthropicStream();
  t.push(
    chunk({
      tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{"x"' } }],
    }),
  );
  t.push(
    chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '' } }] }),
  );
  const late = data(t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] })));
  assert.deepEqual(late, [
    { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: ':1}' } },
  ]);
});

test('OpenaiToAnthropicStream: a backend error chunk before any content ends with event: error only', () => {
  const t = new OpenaiToAnthropicStream();
  const out = t.push(
    jsonEvent({ error: { message: 'context length exceeded', type: 'invalid_request_error' } }),
  );
  assert.deepEqual(out, [
    jsonEvent({ type: 'error', error: { type: 'api_error', message: 'context length exceeded' } }, 'error'),
  ]);
  assert.equal(t.done, true);
  assert.deepEqual(t.push({ data: '[DONE]' }), []);
});
