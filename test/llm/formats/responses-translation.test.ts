/**
 * The Responses API translations with golden inputs: a Responses request (instructions, message
 * items with text parts, a function-call round trip, function tools, tool_choice) as the exact
 * Chat Completions request, and on to Anthropic (tool_use / tool_result blocks); a chat answer with
 * text and tool calls as a `response` object; a chat stream (text, two tool calls, usage) and an
 * Anthropic stream (through the chat translation) as the Responses event stream, accumulated by
 * openai-node's own accumulator into the same response the stream's `response.completed` carries;
 * a failure mid-stream as `error` and `response.failed`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { ResponseStreamEvent, Response } from 'openai/resources/responses/responses';
import {
  ChatToResponsesStream,
  chatResponseToResponses,
  openaiChatToAnthropic,
  responsesToChat,
  type JsonObject,
  type SseEvent,
} from '../../../src/llm/formats/index.js';
import { formatsTranslation } from '../../../src/llm/front-door/translation.js';

const TOOL = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};

const REQUEST = {
  model: 'm',
  instructions: 'You are terse.',
  input: [
    { role: 'developer', content: 'Use tools when useful.' },
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: 'Weather in Paris' },
        { type: 'input_text', text: ' and Rome?' },
      ],
    },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
    { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'rain' }] },
    { role: 'assistant', content: [{ type: 'output_text', text: 'Paris sunny, Rome rain.' }] },
    { role: 'user', content: 'Thanks' },
  ],
  max_output_tokens: 100,
  temperature: 0.5,
  top_p: 0.9,
  tools: [TOOL],
  tool_choice: { type: 'function', name: 'get_weather' },
  parallel_tool_calls: false,
  stream: true,
  store: true,
  metadata: { a: '1' },
  user: 'u1',
  include: ['reasoning.encrypted_content'],
};

test('a Responses request as the exact Chat Completions request (golden)', () => {
  const r = responsesToChat(REQUEST);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value, {
    model: 'm',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'developer', content: 'Use tools when useful.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather in Paris' },
          { type: 'text', text: ' and Rome?' },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
      { role: 'assistant', content: 'Paris sunny, Rome rain.' },
      { role: 'user', content: 'Thanks' },
    ],
    max_tokens: 100,
    temperature: 0.5,
    top_p: 0.9,
    parallel_tool_calls: false,
    user: 'u1',
    stream: true,
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: TOOL.parameters,
          strict: true,
        },
      },
    ],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  assert.deepEqual(responsesToChat({ model: 'm', input: 'hi' }), {
    ok: true,
    value: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
  });
});

test('the translated request reaches Anthropic: tool_use and tool_result blocks, the tool, the system', () => {
  const chat = responsesToChat(REQUEST);
  assert.ok(chat.ok);
  const a = openaiChatToAnthropic(chat.value, { maxTokensDefault: 64 });
  assert.ok(a.ok, JSON.stringify(a));
  const v = a.value as unknown as JsonObject & { messages: { role: string; content: JsonObject[] }[] };
  assert.equal(v.max_tokens, 100);
  assert.deepEqual(
    (v.tools as JsonObject[]).map((t) => t.name),
    ['get_weather'],
  );
  const assistant = v.messages[1]!;
  assert.equal(assistant.role, 'assistant');
  assert.deepEqual(
    assistant.content.map((b) => [b.type, b.id, b.input]),
    [
      ['tool_use', 'call_1', { city: 'Paris' }],
      ['tool_use', 'call_2', { city: 'Rome' }],
    ],
  );
  assert.deepEqual(
    v.messages[2]!.content.slice(0, 2).map((b) => [b.type, b.tool_use_id]),
    [
      ['tool_result', 'call_1'],
      ['tool_result', 'call_2'],
    ],
  );
  assert.match(JSON.stringify(v.system), /You are terse\..*Use tools when useful\./);
});

test('refused fields name their path', () => {
  const cases: [JsonObject, string][] = [
    [{ previous_response_id: 'resp_1' }, 'previous_response_id'],
    [{ conversation: { id: 'c' } }, 'conversation'],
    [{ background: true }, 'background'],
    [{ prompt: { id: 'p' } }, 'prompt'],
    [{ tools: [{ type: 'file_search' }] }, 'tools[0].type'],
    [
      { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] },
      'input[0].content[0].type',
    ],
    [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type'],
    [{ input: [{ type: 'reasoning', summary: [] }] }, 'input'],
    [{ input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    [{ input: [{ type: 'function_call', call_id: 'c', name: 'f' }] }, 'input[0].arguments'],
    [{ text: { format: { type: 'json_schema', name: 's', schema: {} } } }, 'text.format.type'],
    [{ tool_choice: { type: 'web_search' } }, 'tool_choice'],
    [{ temperature: 3 }, 'temperature'],
    [{ input: 5 }, 'input'],
    [{ input: [] }, 'input'],
  ];
  for (const [extra, field] of cases) {
    const r = responsesToChat({ model: 'm', input: 'hi', ...extra });
    assert.ok(!r.ok, field);
    assert.equal(r.field, field);
    assert.ok(r.message.startsWith(`${field}: `), r.message);
  }
  assert.equal((responsesToChat({ input: 'hi' }) as { field: string }).field, 'model');
});

const CHAT_ANSWER = {
  id: 'chatcmpl-abc',
  object: 'chat.completion',
  created: 1,
  model: 'backend-model',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: {
    prompt_tokens: 20,
    completion_tokens: 9,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 4 },
    completion_tokens_details: { reasoning_tokens: 2 },
  },
};

test('a chat answer with text and a tool call as a response object (golden)', () => {
  const r = chatResponseToResponses(CHAT_ANSWER, {
    request: { model: 'm', instructions: 'Be brief.', tools: [TOOL], metadata: { a: '1' } },
    created: 1700000000,
  });
  assert.deepEqual(r, {
    id: 'resp_abc',
    object: 'response',
    created_at: 1700000000,
    status: 'completed',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: 'Be brief.',
    max_output_tokens: null,
    metadata: { a: '1' },
    model: 'm',
    output: [
      {
        id: 'msg_abc',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Let me check.', annotations: [], logprobs: [] }],
      },
      {
        id: 'fc_call_9',
        type: 'function_call',
        status: 'completed',
        call_id: 'call_9',
        name: 'get_weather',
        arguments: '{"city":"Oslo"}',
      },
    ],
    parallel_tool_calls: true,
    previous_response_id: null,
    store: false,
    temperature: null,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [TOOL],
    top_p: null,
    truncation: 'disabled',
    usage: {
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 29,
    },
  });
  const cut = {
    ...CHAT_ANSWER,
    choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
  };
  const inc = chatResponseToResponses(cut, { request: { model: 'm' }, created: 1 });
  assert.equal(inc.status, 'incomplete');
  assert.deepEqual(inc.incomplete_details, { reason: 'max_output_tokens' });
  // The item the limit cut says so too (a client reading items sees it was not finished).
  assert.deepEqual(
    (inc.output as { status: string }[]).map((i) => i.status),
    ['incomplete'],
  );
});

const chunk = (delta: JsonObject, finish: string | null = null): SseEvent => ({
  data: JSON.stringify({
    id: 'chatcmpl-s1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'b',
    choices: [{ index: 0, delta, finish_reason: finish }],
  }),
});

const CHAT_STREAM: SseEvent[] = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Checking' }),
  chunk({ content: ' now.' }),
  chunk({
    tool_calls: [
      { index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
  chunk({
    tool_calls: [
      { index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ],
  }),
  chunk({}, 'tool_calls'),
  {
    data: JSON.stringify({
      id: 'chatcmpl-s1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'b',
      choices: [],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    }),
  },
  { data: '[DONE]' },
];

type Ev = ResponseStreamEvent & { sequence_number: number };

function run(t: { push(e: SseEvent): SseEvent[]; end(): SseEvent[] }, events: SseEvent[]): Ev[] {
  const out = [...events.flatMap((e) => t.push(e)), ...t.end()];
  return out.map((e) => {
    const data = JSON.parse(e.data) as Ev;
    assert.equal(e.event, data.type, 'the event: line names the event');
    return data;
  });
}

/** openai-node's own accumulation of the events (throws on an event out of place). */
function accumulate(events: Ev[]): Response {
  let snapshot: Response | undefined;
  for (const e of events) snapshot = accumulateResponse(e, snapshot);
  return snapshot!;
}

test('a chat stream with text and two tool calls as the Responses event stream (golden), accumulated by openai-node', () => {
  const events = run(new ChatToResponsesStream({ request: { model: 'm' }, created: 5 }), CHAT_STREAM);
  assert.deepEqual(
    events.map((e) => e.type),
    [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ],
  );
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  const added = events[6] as ResponseStreamEvent & { output_index: number; item: JsonObject };
  assert.equal(added.output_index, 1);
  assert.deepEqual(added.item, {
    id: 'fc_call_a',
    type: 'function_call',
    status: 'in_progress',
    call_id: 'call_a',
    name: 'get_weather',
    arguments: '',
  });
  const final = accumulate(events);
  const completed = (events.at(-1) as ResponseStreamEvent & { response: Response }).response;
  assert.equal(final.id, 'resp_s1');
  assert.equal(final.status, 'completed');
  assert.deepEqual(final.output, completed.output);
  assert.deepEqual(
    final.output.map((o) => (o.type === 'function_call' ? [o.call_id, o.name, o.arguments] : o.type)),
    ['message', ['call_a', 'get_weather', '{"city":"Oslo"}'], ['call_b', 'get_time', '{}']],
  );
  assert.equal((final.output[0] as { content: { text: string }[] }).content[0]!.text, 'Checking now.');
  assert.deepEqual(completed.usage, {
    input_tokens: 11,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 7,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 18,
  });
});

test('an Anthropic stream reaches a Responses client through the chat translation (text and tool_use)', () => {
  const ev = (type: string, data: JsonObject): SseEvent => ({
    event: type,
    data: JSON.stringify({ type, ...data }),
  });
  const anthropic: SseEvent[] = [
    ev('message_start', {
      message: {
        id: 'msg_01X',
        type: 'message',
        role: 'assistant',
        model: 'claude',
        content: [],
        usage: { input_tokens: 13, output_tokens: 1 },
      },
    }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
    ev('content_block_stop', { index: 0 }),
    ev('content_block_start', {
      index: 1,
      content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} },
    }),
    ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } }),
    ev('content_block_stop', { index: 1 }),
    ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 6 } }),
    ev('message_stop', {}),
  ];
  const t = formatsTranslation.stream('openai', {
    model: 'm',
    includeUsage: false,
    inputTokens: 13,
    created: 5,
    kind: 'responses',
    backend: 'anthropic',
    request: { model: 'm' },
  });
  const events = run(t, anthropic);
  const final = accumulate(events);
  assert.equal(events.at(-1)!.type, 'response.completed');
  assert.equal(final.id, 'resp_01X');
  assert.deepEqual(
    final.output.map((o) => (o.type === 'function_call' ? [o.call_id, o.name, o.arguments] : o.type)),
    ['message', ['toolu_1', 'f', '{"a":1}']],
  );
  assert.equal(final.usage?.input_tokens, 13);
  assert.equal(final.usage?.output_tokens, 6);
});

test('a failure mid-stream: error then response.failed with what was produced; nothing after', () => {
  const t = new ChatToResponsesStream({ request: { model: 'm' }, created: 5 });
  const first = CHAT_STREAM.slice(0, 3).flatMap((e) => t.push(e));
  const tail = t.failEvents('the backend closed the stream early');
  const events = [...first, ...tail].map((e) => JSON.parse(e.data) as Ev);
  assert.deepEqual(
    events.slice(-2).map((e) => e.type),
    ['error', 'response.failed'],
  );
  const err = events.at(-2) as ResponseStreamEvent & { message: string; code: string; param: null };
  assert.deepEqual(
    [err.code, err.message, err.param],
    ['server_error', 'the backend closed the stream early', null],
  );
  const failed = (events.at(-1) as ResponseStreamEvent & { response: Response }).response;
  assert.equal(failed.status, 'failed');
  assert.deepEqual(failed.error, { code: 'server_error', message: 'the backend closed the stream early' });
  assert.equal((failed.output[0] as { status: string; content: { text: string }[] }).status, 'incomplete');
  assert.equal((failed.output[0] as { content: { text: string }[] }).content[0]!.text, 'Checking now.');
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  assert.deepEqual(t.push(CHAT_STREAM[3]!), []);
  assert.deepEqual(t.end(), []);
  // an error chunk from the backend (a translated Anthropic error) ends it the same way
  const u = new ChatToResponsesStream({ request: { model: 'm' }, created: 5 });
  const out = [
    ...u.push(CHAT_STREAM[0]!),
    ...u.push({ data: JSON.stringify({ error: { message: 'overloaded' } }) }),
  ];
  assert.deepEqual(
    out.slice(-2).map((e) => e.event),
    ['error', 'response.failed'],
  );
});
