import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicToOpenaiChat } from '../../../src/llm/formats/anthropic-to-openai-request.js';
import { openaiChatToAnthropic } from '../../../src/llm/formats/openai-to-anthropic-request.js';
import type { AnthropicMessagesRequest, OpenaiChatRequest } from '../../../src/llm/formats/types.js';
import { validateAnthropicMessages } from '../../../src/llm/formats/validate-anthropic.js';
import { validateOpenaiChat } from '../../../src/llm/formats/validate-openai.js';

function toAnthropic(body: unknown, options = {}): AnthropicMessagesRequest {
  const v = validateOpenaiChat(body);
  assert.ok(v.ok, JSON.stringify(v));
  const r = openaiChatToAnthropic(v.value, options);
  assert.ok(r.ok, JSON.stringify(r));
  // What we send must itself be a valid Anthropic request.
  assert.ok(validateAnthropicMessages(r.value).ok, JSON.stringify(validateAnthropicMessages(r.value)));
  return r.value;
}

function toOpenai(body: unknown): OpenaiChatRequest {
  const v = validateAnthropicMessages(body);
  assert.ok(v.ok, JSON.stringify(v));
  const r = anthropicToOpenaiChat(v.value);
  assert.ok(r.ok, JSON.stringify(r));
  assert.ok(validateOpenaiChat(r.value).ok, JSON.stringify(validateOpenaiChat(r.value)));
  return r.value;
}

const weatherOpenai = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const weatherAnthropic = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** A tool conversation in OpenAI's shape and the same in Anthropic's. */
const OPENAI_TOOL_CHAT = {
  model: 'm',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Weather in Paris and Tokyo?' },
    {
      role: 'assistant',
      content: 'Checking.',
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
    { role: 'user', content: 'Thanks. Which is warmer?' },
  ],
  tools: [weatherOpenai],
  tool_choice: 'required',
  max_tokens: 300,
  temperature: 0.5,
  top_p: 0.9,
  stop: ['END', 'STOP'],
  stream: true,
};
const ANTHROPIC_TOOL_CHAT = {
  model: 'm',
  max_tokens: 300,
  messages: [
    { role: 'user', content: 'Weather in Paris and Tokyo?' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Tokyo' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
        { type: 'tool_result', tool_use_id: 'call_2', content: 'rain' },
        { type: 'text', text: 'Thanks. Which is warmer?' },
      ],
    },
  ],
  system: 'You are terse.',
  stop_sequences: ['END', 'STOP'],
  temperature: 0.5,
  top_p: 0.9,
  tools: [weatherAnthropic],
  tool_choice: { type: 'any' },
  stream: true,
};

test('openaiChatToAnthropic: system, tool calls, consecutive tool results merged into one user turn, tools, tool_choice, stop', () => {
  assert.deepEqual(toAnthropic(OPENAI_TOOL_CHAT), ANTHROPIC_TOOL_CHAT);
});

test('anthropicToOpenaiChat: the same conversation back, tool results as role tool before the user text, usage asked for', () => {
  assert.deepEqual(toOpenai(ANTHROPIC_TOOL_CHAT), {
    ...OPENAI_TOOL_CHAT,
    messages: OPENAI_TOOL_CHAT.messages,
    stream_options: { include_usage: true },
  });
});

test('round trip OpenAI → Anthropic → OpenAI keeps a multi-turn tool conversation', () => {
  const back = toOpenai(toAnthropic(OPENAI_TOOL_CHAT));
  assert.deepEqual(
    { ...back, stream_options: undefined },
    { ...OPENAI_TOOL_CHAT, stream_options: undefined },
  );
});

test('round trip Anthropic → OpenAI → Anthropic keeps a multi-turn tool conversation', () => {
  assert.deepEqual(toAnthropic(toOpenai(ANTHROPIC_TOOL_CHAT)), ANTHROPIC_TOOL_CHAT);
});

test('system prompts: several system/developer messages become text blocks in order; blocks become one system message', () => {
  const a = toAnthropic({
    model: 'm',
    messages: [
      { role: 'developer', content: 'one' },
      { role: 'user', content: 'hi' },
      { role: 'system', content: [{ type: 'text', text: 'two' }] },
    ],
  });
  assert.deepEqual(a.system, [
    { type: 'text', text: 'one' },
    { type: 'text', text: 'two' },
  ]);
  assert.deepEqual(a.messages, [{ role: 'user', content: 'hi' }]);
  const o = toOpenai({
    model: 'm',
    max_tokens: 5,
    system: [
      { type: 'text', text: 'one', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'two' },
    ],
    messages: [{ role: 'user', content: 'hi' }],
  });
  // One system message, first: many open models' chat templates accept no other placement.
  assert.deepEqual(o.messages, [
    { role: 'system', content: 'one\ntwo' },
    { role: 'user', content: 'hi' },
  ]);
});

test('max_tokens: max_completion_tokens first, then max_tokens, then the configured default (Anthropic requires one)', () => {
  assert.equal(
    toAnthropic({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      max_completion_tokens: 7,
      max_tokens: 9,
    }).max_tokens,
    7,
  );
  assert.equal(
    toAnthropic({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 9 }).max_tokens,
    9,
  );
  assert.equal(
    toAnthropic({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { maxTokensDefault: 512 })
      .max_tokens,
    512,
  );
  assert.equal(toAnthropic({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).max_tokens, 4096);
});

test('options and small fields: backend model, temperature clamped to 1, user ↔ metadata.user_id, a single stop string', () => {
  const a = toAnthropic(
    {
      model: 'client-name',
      messages: [{ role: 'user', content: 'x' }],
      temperature: 1.7,
      user: 'u-1',
      stop: 'END',
    },
    { model: 'claude-backend' },
  );
  assert.equal(a.model, 'claude-backend');
  assert.equal(a.temperature, 1);
  assert.deepEqual(a.metadata, { user_id: 'u-1' });
  assert.deepEqual(a.stop_sequences, ['END']);
  assert.equal(a.stream, undefined);
  const o = toOpenai({
    model: 'c',
    max_tokens: 3,
    messages: [{ role: 'user', content: 'x' }],
    metadata: { user_id: 'u-2' },
    top_k: 5,
  });
  assert.equal(o.user, 'u-2');
  assert.equal(o.top_k, undefined);
  assert.equal(o.stream, undefined);
  assert.equal(o.stream_options, undefined);
});

test('tool_choice both ways, with parallel tool use switched off', () => {
  const base = { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [weatherOpenai] };
  const table: Array<[unknown, unknown]> = [
    ['auto', { type: 'auto' }],
    ['required', { type: 'any' }],
    ['none', { type: 'none' }],
    [
      { type: 'function', function: { name: 'get_weather' } },
      { type: 'tool', name: 'get_weather' },
    ],
  ];
  for (const [openai, anthropic] of table) {
    const a = toAnthropic({ ...base, tool_choice: openai });
    assert.deepEqual(a.tool_choice, anthropic);
    assert.deepEqual(toOpenai(a).tool_choice, openai);
  }
  const noParallel = toAnthropic({ ...base, parallel_tool_calls: false });
  assert.deepEqual(noParallel.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
  assert.equal(toOpenai(noParallel).parallel_tool_calls, false);
});

test('images: a data URL becomes a base64 source and back; an https URL a url source and back', () => {
  const parts = [
    { type: 'text', text: 'what is this?' },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
  ];
  const a = toAnthropic({ model: 'm', messages: [{ role: 'user', content: parts }] });
  assert.deepEqual(a.messages[0]!.content, [
    { type: 'text', text: 'what is this?' },
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
  ]);
  assert.deepEqual(toOpenai(a).messages[0]!.content, parts);
});

test('an assistant tool call without text has content null; thinking blocks are dropped', () => {
  const o = toOpenai({
    model: 'c',
    max_tokens: 10,
    messages: [
      { role: 'user', content: 'x' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'plan', signature: 'sig' },
          { type: 'tool_use', id: 't', name: 'f', input: {} },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'ok' }] }],
      },
    ],
  });
  assert.deepEqual(o.messages.slice(1), [
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 't', content: [{ type: 'text', text: 'ok' }] },
  ]);
});

test('an empty assistant message is left out and the user turns around it merge (Anthropic refuses empty turns)', () => {
  const a = toAnthropic({
    model: 'm',
    messages: [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: null },
    ],
  });
  assert.deepEqual(a.messages, [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ],
    },
  ]);
});

test('what the other format cannot express fails naming the field', () => {
  const cases: Array<[() => { ok: boolean; field?: string }, string]> = [
    [() => openaiChatToAnthropic({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }), 'n'],
    [
      () =>
        openaiChatToAnthropic({
          model: 'm',
          messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }],
        }),
      'messages[0].content[0].type',
    ],
    [
      () =>
        openaiChatToAnthropic({
          model: 'm',
          messages: [
            { role: 'user', content: 'x' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1' } }],
            },
          ],
        }),
      'messages[1].tool_calls[0].function.arguments',
    ],
    [
      () =>
        openaiChatToAnthropic({
          model: 'm',
          messages: [{ role: 'system', content: 'only a system prompt' }],
        }),
      'messages',
    ],
    [
      () =>
        anthropicToOpenaiChat({
          model: 'c',
          max_tokens: 1,
          messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64' } }] }],
        }),
      'messages[0].content[0].type',
    ],
    [
      () =>
        anthropicToOpenaiChat({
          model: 'c',
          max_tokens: 1,
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ type: 'web_search_20250305', name: 'web_search', input_schema: {} }],
        }),
      'tools[0].type',
    ],
    [
      () =>
        anthropicToOpenaiChat({
          model: 'c',
          max_tokens: 1,
          messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }],
        }),
      'messages[0].content[0].source.type',
    ],
  ];
  for (const [run, field] of cases) {
    const r = run();
    assert.equal(r.ok, false, field);
    assert.equal(r.field, field);
  }
});
