// Validation in the client's format: each bad body is refused naming the field by its JSON path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  validateOpenaiChat,
  validateOpenaiCompletion,
  validateOpenaiEmbedding,
} from '../../../src/llm/formats/validate-openai.js';
import { validateAnthropicMessages } from '../../../src/llm/formats/validate-anthropic.js';

const user = { role: 'user', content: 'hi' };
const chat = (extra: Record<string, unknown>) => ({ model: 'm', messages: [user], ...extra });
const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

const openaiChatBad: Array<[string, unknown, string]> = [
  ['not an object', [1], ''],
  ['no model', { messages: [user] }, 'model'],
  ['empty model', chat({ model: '' }), 'model'],
  ['no messages', { model: 'm' }, 'messages'],
  ['empty messages', chat({ messages: [] }), 'messages'],
  ['unknown role', chat({ messages: [user, { role: 'robot', content: 'x' }] }), 'messages[1].role'],
  ['user content missing', chat({ messages: [{ role: 'user' }] }), 'messages[0].content'],
  ['content a number', chat({ messages: [user, user, { role: 'user', content: 5 }] }), 'messages[2].content'],
  [
    'part without type',
    chat({ messages: [{ role: 'user', content: [{ text: 'a' }] }] }),
    'messages[0].content[0].type',
  ],
  [
    'text part without text',
    chat({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
    'messages[0].content[0].text',
  ],
  [
    'image part without url',
    chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }),
    'messages[0].content[0].image_url.url',
  ],
  [
    'tool message without tool_call_id',
    chat({ messages: [user, { role: 'tool', content: 'r' }] }),
    'messages[1].tool_call_id',
  ],
  [
    'tool call without id',
    chat({
      messages: [
        user,
        { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] },
      ],
    }),
    'messages[1].tool_calls[0].id',
  ],
  [
    'tool call arguments not a string',
    chat({
      messages: [
        user,
        {
          role: 'assistant',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }],
        },
      ],
    }),
    'messages[1].tool_calls[0].function.arguments',
  ],
  [
    'tool_calls on a user message',
    chat({ messages: [{ role: 'user', content: 'x', tool_calls: [] }] }),
    'messages[0].tool_calls',
  ],
  ['max_tokens 0', chat({ max_tokens: 0 }), 'max_tokens'],
  ['max_tokens not an integer', chat({ max_tokens: 1.5 }), 'max_tokens'],
  ['max_completion_tokens a string', chat({ max_completion_tokens: '10' }), 'max_completion_tokens'],
  ['temperature above 2', chat({ temperature: 2.5 }), 'temperature'],
  ['top_p above 1', chat({ top_p: 1.1 }), 'top_p'],
  ['stream a string', chat({ stream: 'yes' }), 'stream'],
  ['stream_options without stream', chat({ stream_options: { include_usage: true } }), 'stream_options'],
  [
    'include_usage not a boolean',
    chat({ stream: true, stream_options: { include_usage: 1 } }),
    'stream_options.include_usage',
  ],
  ['five stop sequences', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
  ['a stop sequence not a string', chat({ stop: ['a', 1] }), 'stop[1]'],
  ['tools not an array', chat({ tools: {} }), 'tools'],
  ['tool type wrong', chat({ tools: [{ type: 'retrieval' }] }), 'tools[0].type'],
  [
    'tool name with spaces',
    chat({ tools: [{ type: 'function', function: { name: 'get weather' } }] }),
    'tools[0].function.name',
  ],
  [
    'tool parameters not an object',
    chat({ tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }),
    'tools[0].function.parameters',
  ],
  ['tool_choice unknown string', chat({ tools: [weather], tool_choice: 'always' }), 'tool_choice'],
  [
    'tool_choice names a missing tool',
    chat({ tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }),
    'tool_choice.function.name',
  ],
  ['parallel_tool_calls a string', chat({ parallel_tool_calls: 'no' }), 'parallel_tool_calls'],
];

for (const [name, body, field] of openaiChatBad) {
  test(`validateOpenaiChat refuses ${name}, naming ${field || 'the body'}`, () => {
    const r = validateOpenaiChat(body);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.field, field);
      assert.ok(r.message.startsWith(field ? `${field}:` : 'the request body'), r.message);
      assert.ok(!r.message.includes('\n'));
    }
  });
}

test('validateOpenaiChat accepts a full multi-turn body with tools, images, nulls and unknown fields', () => {
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'developer', content: 'be brief' },
      { role: 'system', content: [{ type: 'text', text: 'and kind' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'weather?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    ],
    tools: [weather],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    max_tokens: null,
    temperature: 0,
    stop: 'END',
    stream: true,
    stream_options: { include_usage: true },
    response_format: { type: 'text' },
  };
  const r = validateOpenaiChat(body);
  assert.deepEqual(r, { ok: true, value: body });
});

const completionBad: Array<[string, unknown, string]> = [
  ['no prompt', { model: 'm' }, 'prompt'],
  ['prompt an object', { model: 'm', prompt: {} }, 'prompt'],
  ['prompt an empty array', { model: 'm', prompt: [] }, 'prompt'],
  ['negative token id', { model: 'm', prompt: [1, -2] }, 'prompt'],
  ['no model', { prompt: 'x' }, 'model'],
  ['echo a string', { model: 'm', prompt: 'x', echo: 'yes' }, 'echo'],
  ['logprobs 6', { model: 'm', prompt: 'x', logprobs: 6 }, 'logprobs'],
];
for (const [name, body, field] of completionBad) {
  test(`validateOpenaiCompletion refuses ${name}, naming ${field}`, () => {
    const r = validateOpenaiCompletion(body);
    assert.equal(r.ok ? 'ok' : r.field, field);
  });
}

test('validateOpenaiCompletion accepts a string, strings, token ids and lists of token ids', () => {
  for (const prompt of ['x', ['a', 'b'], [1, 2, 3], [[1], [2, 3]]])
    assert.equal(
      validateOpenaiCompletion({ model: 'm', prompt, max_tokens: 5 }).ok,
      true,
      JSON.stringify(prompt),
    );
});

const embeddingBad: Array<[string, unknown, string]> = [
  ['no input', { model: 'm' }, 'input'],
  ['empty input', { model: 'm', input: '' }, 'input'],
  ['input a number', { model: 'm', input: 3 }, 'input'],
  ['bad encoding_format', { model: 'm', input: 'x', encoding_format: 'hex' }, 'encoding_format'],
  ['dimensions 0', { model: 'm', input: 'x', dimensions: 0 }, 'dimensions'],
  ['no model', { input: 'x' }, 'model'],
];
for (const [name, body, field] of embeddingBad) {
  test(`validateOpenaiEmbedding refuses ${name}, naming ${field}`, () => {
    const r = validateOpenaiEmbedding(body);
    assert.equal(r.ok ? 'ok' : r.field, field);
  });
}

test('validateOpenaiEmbedding accepts strings and token ids', () => {
  assert.equal(
    validateOpenaiEmbedding({ model: 'm', input: ['a', 'b'], encoding_format: 'base64' }).ok,
    true,
  );
  assert.equal(validateOpenaiEmbedding({ model: 'm', input: [[1, 2]] }).ok, true);
});

const msgs = (extra: Record<string, unknown>) => ({
  model: 'claude',
  max_tokens: 100,
  messages: [user],
  ...extra,
});
const anthropicBad: Array<[string, unknown, string]> = [
  ['not an object', 'hello', ''],
  ['no model', { max_tokens: 1, messages: [user] }, 'model'],
  ['no max_tokens', { model: 'c', messages: [user] }, 'max_tokens'],
  ['max_tokens 0', msgs({ max_tokens: 0 }), 'max_tokens'],
  ['max_tokens null (required, unlike OpenAI)', msgs({ max_tokens: null }), 'max_tokens'],
  ['empty messages', msgs({ messages: [] }), 'messages'],
  ['system role in messages', msgs({ messages: [{ role: 'system', content: 'x' }] }), 'messages[0].role'],
  ['content a number', msgs({ messages: [user, { role: 'assistant', content: 1 }] }), 'messages[1].content'],
  [
    'block without type',
    msgs({ messages: [{ role: 'user', content: [{ text: 'x' }] }] }),
    'messages[0].content[0].type',
  ],
  [
    'text block without text',
    msgs({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
    'messages[0].content[0].text',
  ],
  [
    'image with an unknown source',
    msgs({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'ftp' } }] }] }),
    'messages[0].content[0].source.type',
  ],
  [
    'base64 image without data',
    msgs({
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }] },
      ],
    }),
    'messages[0].content[0].source.data',
  ],
  [
    'tool_use in a user message',
    msgs({ messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }] }),
    'messages[0].content[0].type',
  ],
  [
    'tool_use input not an object',
    msgs({
      messages: [
        user,
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: '{}' }] },
      ],
    }),
    'messages[1].content[0].input',
  ],
  [
    'tool_result without tool_use_id',
    msgs({ messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'r' }] }] }),
    'messages[0].content[0].tool_use_id',
  ],
  [
    'tool_result is_error a string',
    msgs({
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', is_error: 'yes' }] }],
    }),
    'messages[0].content[0].is_error',
  ],
  [
    'bad block nested in a tool_result',
    msgs({
      messages: [
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text' }] }] },
      ],
    }),
    'messages[0].content[0].content[0].text',
  ],
  ['system a number', msgs({ system: 5 }), 'system'],
  ['system block not text', msgs({ system: [{ type: 'image' }] }), 'system[0].type'],
  ['temperature above 1', msgs({ temperature: 1.5 }), 'temperature'],
  ['top_k negative', msgs({ top_k: -1 }), 'top_k'],
  ['stop_sequences a string', msgs({ stop_sequences: 'END' }), 'stop_sequences'],
  ['stream a number', msgs({ stream: 1 }), 'stream'],
  ['tool without input_schema', msgs({ tools: [{ name: 'f' }] }), 'tools[0].input_schema'],
  ['tool without name', msgs({ tools: [{ input_schema: {} }] }), 'tools[0].name'],
  ['tool_choice type unknown', msgs({ tool_choice: { type: 'some' } }), 'tool_choice.type'],
  ['tool_choice tool without name', msgs({ tool_choice: { type: 'tool' } }), 'tool_choice.name'],
  ['metadata a string', msgs({ metadata: 'x' }), 'metadata'],
];

for (const [name, body, field] of anthropicBad) {
  test(`validateAnthropicMessages refuses ${name}, naming ${field || 'the body'}`, () => {
    const r = validateAnthropicMessages(body);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.field, field);
      assert.ok(r.message.startsWith(field ? `${field}:` : 'the request body'), r.message);
    }
  });
}

test('validateAnthropicMessages accepts tools, server tools, tool results, images, thinking and unknown blocks', () => {
  const body = {
    model: 'claude',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral' } }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'url', url: 'https://x/y.png' } },
          { type: 'text', text: '?' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 's' },
          { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'sunny' }] },
          { type: 'future_block' },
        ],
      },
    ],
    tools: [
      { name: 'get_weather', input_schema: { type: 'object' } },
      { type: 'web_search_20250305', name: 'web_search' },
    ],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    stop_sequences: ['END'],
    stream: true,
  };
  assert.deepEqual(validateAnthropicMessages(body), { ok: true, value: body });
});
