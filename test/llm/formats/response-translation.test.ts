import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anthropicResponseToOpenaiChat,
  openaiChatResponseToAnthropic,
  toolInput,
} from '../../../src/llm/formats/chat-response.js';
import { finishToStopReason, stopReasonToFinish } from '../../../src/llm/formats/stop-reasons.js';

const OPENAI = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1765100000,
  model: 'gpt-4o',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Let me look.',
        refusal: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: {
    prompt_tokens: 1200,
    completion_tokens: 30,
    total_tokens: 1230,
    prompt_tokens_details: { cached_tokens: 1024 },
  },
};
const ANTHROPIC = {
  id: 'chatcmpl-1',
  type: 'message',
  role: 'assistant',
  model: 'gpt-4o',
  content: [
    { type: 'text', text: 'Let me look.' },
    { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: {
    input_tokens: 176,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 1024,
    output_tokens: 30,
  },
};

test('openaiChatResponseToAnthropic: text and tool calls as blocks, finish reason, usage without the cached part', () => {
  assert.deepEqual(openaiChatResponseToAnthropic(OPENAI), ANTHROPIC);
});

test('anthropicResponseToOpenaiChat: blocks back to content and tool_calls, usage with cached tokens inside prompt_tokens', () => {
  const back = anthropicResponseToOpenaiChat(ANTHROPIC, { created: 1765100000 });
  assert.deepEqual(back, {
    ...OPENAI,
    usage: { ...OPENAI.usage },
  });
});

test('anthropicResponseToOpenaiChat: cache writes count in prompt_tokens; no text and no tools is an empty string', () => {
  const r = anthropicResponseToOpenaiChat(
    {
      id: 'msg_1',
      model: 'claude',
      content: [],
      stop_reason: 'max_tokens',
      usage: {
        input_tokens: 10,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 5,
        output_tokens: 7,
      },
    },
    { created: 1 },
  );
  const choice = (r.choices as Array<{ message: { content: unknown }; finish_reason: string }>)[0]!;
  assert.equal(choice.message.content, '');
  assert.equal(choice.finish_reason, 'length');
  assert.deepEqual(r.usage, {
    prompt_tokens: 115,
    completion_tokens: 7,
    total_tokens: 122,
    prompt_tokens_details: { cached_tokens: 5 },
  });
});

test('openaiChatResponseToAnthropic: a refusal becomes text with stop_reason refusal; a missing usage is zero', () => {
  const r = openaiChatResponseToAnthropic({
    id: 'c',
    model: 'm',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: 'I cannot help' },
        finish_reason: 'content_filter',
      },
    ],
  });
  assert.deepEqual(r.content, [{ type: 'text', text: 'I cannot help' }]);
  assert.equal(r.stop_reason, 'refusal');
  assert.deepEqual(r.usage, {
    input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: 0,
  });
});

test('toolInput: JSON object arguments parse; empty is {}; anything else is kept under arguments', () => {
  assert.deepEqual(toolInput('{"a":1}'), { a: 1 });
  assert.deepEqual(toolInput(''), {});
  assert.deepEqual(toolInput('[1,2]'), { arguments: '[1,2]' });
  assert.deepEqual(toolInput('{"cut'), { arguments: '{"cut' });
});

test('stop and finish reasons map both ways', () => {
  const pairs: Array<[string, string]> = [
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
  ];
  for (const [finish, stop] of pairs) {
    assert.equal(finishToStopReason(finish), stop);
    assert.equal(stopReasonToFinish(stop), finish);
  }
  assert.equal(stopReasonToFinish('stop_sequence'), 'stop');
  assert.equal(stopReasonToFinish('pause_turn'), 'stop');
  assert.equal(finishToStopReason('function_call'), 'tool_use');
  assert.equal(finishToStopReason(null), 'end_turn');
});
