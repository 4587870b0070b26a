/**
 * llm-sim's tool calls on the wire (raw HTTP, both formats): a request with tools gets one
 * deterministic call to the first (or the named) tool, its arguments the schema's required
 * properties, streamed one token per chunk; a tool result, `tool_choice` none or no tools get text.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLlmSim, countTokens, type LlmSim } from '../../src/llm-sim/index.js';

const sims: LlmSim[] = [];
after(() => Promise.all(sims.map((s) => s.close())));

async function sim(): Promise<LlmSim> {
  const s = await startLlmSim({ port: 0, timeScale: 0.001, api: 'both', seed: 7 });
  sims.push(s);
  return s;
}

async function post(s: LlmSim, path: string, body: object): Promise<{ status: number; text: string }> {
  const res = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** The `data:` payloads of an SSE body (without `[DONE]`). */
function events(sse: string): Array<Record<string, any>> {
  return sse
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)) as Record<string, any>);
}

const schema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    days: { type: 'integer' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    ratio: { type: 'number' },
    metric: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    where: { type: 'object', properties: { lat: { type: 'number' } }, required: ['lat'] },
    optional: { type: 'string' },
  },
  required: ['city', 'days', 'unit', 'ratio', 'metric', 'tags', 'where'],
};
const openAiTools = [
  { type: 'function', function: { name: 'get_weather', parameters: schema } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];
const anthropicTools = [
  { name: 'get_weather', input_schema: schema },
  { name: 'get_time', input_schema: { type: 'object', properties: {} } },
];
const chat = {
  model: 'llm-sim',
  messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  tools: openAiTools,
};
const messages = {
  model: 'llm-sim',
  max_tokens: 200,
  messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  tools: anthropicTools,
};

function assertArguments(args: Record<string, any>): void {
  assert.deepEqual(Object.keys(args), ['city', 'days', 'unit', 'ratio', 'metric', 'tags', 'where']);
  assert.match(args.city, /^[a-z]+ [a-z]+$/);
  assert.ok(Number.isInteger(args.days));
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
  assert.equal(typeof args.ratio, 'number');
  assert.equal(typeof args.metric, 'boolean');
  assert.equal(args.tags.length, 1);
  assert.equal(typeof args.where.lat, 'number');
}

test('OpenAI: one call to the first tool, same on every request, usage = the arguments’ tokens; streamed in pieces', async () => {
  const s = await sim();
  const a = JSON.parse((await post(s, '/v1/chat/completions', chat)).text);
  const b = JSON.parse((await post(s, '/v1/chat/completions', chat)).text);
  const choice = a.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  const [call] = choice.message.tool_calls;
  assert.match(call.id, /^call_[0-9a-f]{24}$/);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assertArguments(JSON.parse(call.function.arguments));
  assert.deepEqual(b.choices[0].message.tool_calls, choice.message.tool_calls);
  assert.equal(a.usage.completion_tokens, countTokens(call.function.arguments));
  const record = s.stats().requests[0]!;
  assert.equal(record.text, call.function.arguments);
  assert.deepEqual(record.toolCall, { id: call.id, name: 'get_weather', arguments: call.function.arguments });

  const sse = await post(s, '/v1/chat/completions', {
    ...chat,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = events(sse.text);
  const deltas = chunks.flatMap((c) => c.choices.flatMap((ch: any) => ch.delta?.tool_calls ?? []));
  assert.deepEqual(deltas[0], {
    index: 0,
    id: call.id,
    type: 'function',
    function: { name: 'get_weather', arguments: '' },
  });
  assert.ok(deltas.length > 5);
  assert.ok(deltas.every((d: any) => d.index === 0));
  assert.equal(deltas.map((d: any) => d.function.arguments).join(''), call.function.arguments);
  assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'tool_calls');
  assert.equal(chunks.at(-1)!.usage.completion_tokens, a.usage.completion_tokens);
});

test('OpenAI: tool_choice names the tool; none, a tool result or no tools get text; an unknown name is a 400', async () => {
  const s = await sim();
  const named = JSON.parse(
    (
      await post(s, '/v1/chat/completions', {
        ...chat,
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      })
    ).text,
  );
  assert.equal(named.choices[0].message.tool_calls[0].function.name, 'get_time');
  assert.equal(named.choices[0].message.tool_calls[0].function.arguments, '{}');
  const none = JSON.parse((await post(s, '/v1/chat/completions', { ...chat, tool_choice: 'none' })).text);
  assert.equal(none.choices[0].finish_reason, 'stop');
  assert.equal(typeof none.choices[0].message.content, 'string');
  assert.equal(none.choices[0].message.tool_calls, undefined);
  const result = JSON.parse(
    (
      await post(s, '/v1/chat/completions', {
        ...chat,
        messages: [
          ...chat.messages,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        ],
      })
    ).text,
  );
  assert.equal(result.choices[0].finish_reason, 'stop');
  assert.ok(result.choices[0].message.content.length > 0);
  // user text after the tool result (an Anthropic tool_result + text turn, translated) still gets text
  const followed = JSON.parse(
    (
      await post(s, '/v1/chat/completions', {
        ...chat,
        messages: [
          ...chat.messages,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'user', content: 'and tomorrow?' },
        ],
      })
    ).text,
  );
  assert.equal(followed.choices[0].finish_reason, 'stop');
  const bad = await post(s, '/v1/chat/completions', {
    ...chat,
    tool_choice: { type: 'function', function: { name: 'nope' } },
  });
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.text).error.param, 'tool_choice');
});

test('Anthropic: a tool_use block and stop_reason tool_use; streamed as input_json_delta pieces', async () => {
  const s = await sim();
  const m = JSON.parse((await post(s, '/v1/messages', messages)).text);
  assert.equal(m.stop_reason, 'tool_use');
  assert.equal(m.content.length, 1);
  const block = m.content[0];
  assert.equal(block.type, 'tool_use');
  assert.match(block.id, /^toolu_[0-9a-f]{24}$/);
  assert.equal(block.name, 'get_weather');
  assertArguments(block.input);
  assert.equal(m.usage.output_tokens, countTokens(JSON.stringify(block.input)));

  const sse = events((await post(s, '/v1/messages', { ...messages, stream: true })).text);
  const start = sse.find((e) => e.type === 'content_block_start')!;
  assert.deepEqual(start.content_block, { type: 'tool_use', id: block.id, name: 'get_weather', input: {} });
  const pieces = sse.filter((e) => e.type === 'content_block_delta').map((e) => e.delta);
  assert.ok(pieces.length > 5);
  assert.ok(pieces.every((d) => d.type === 'input_json_delta'));
  assert.deepEqual(JSON.parse(pieces.map((d) => d.partial_json).join('')), block.input);
  assert.deepEqual(sse.map((e) => e.type).slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  assert.equal(sse.find((e) => e.type === 'message_delta')!.delta.stop_reason, 'tool_use');

  const named = JSON.parse(
    (await post(s, '/v1/messages', { ...messages, tool_choice: { type: 'tool', name: 'get_time' } })).text,
  );
  assert.deepEqual(named.content[0].input, {});
  assert.equal(named.content[0].name, 'get_time');
  const none = JSON.parse(
    (await post(s, '/v1/messages', { ...messages, tool_choice: { type: 'none' } })).text,
  );
  assert.equal(none.content[0].type, 'text');
  const result = JSON.parse(
    (
      await post(s, '/v1/messages', {
        ...messages,
        messages: [
          ...messages.messages,
          { role: 'assistant', content: [block] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: block.id, content: 'sunny' }] },
        ],
      })
    ).text,
  );
  assert.equal(result.content[0].type, 'text');
  assert.notEqual(result.stop_reason, 'tool_use');
});

test('max_tokens cuts the arguments: finish_reason length / stop_reason max_tokens', async () => {
  const s = await sim();
  const o = JSON.parse((await post(s, '/v1/chat/completions', { ...chat, max_tokens: 3 })).text);
  assert.equal(o.choices[0].finish_reason, 'length');
  assert.equal(o.usage.completion_tokens, 3);
  const a = JSON.parse((await post(s, '/v1/messages', { ...messages, max_tokens: 3 })).text);
  assert.equal(a.stop_reason, 'max_tokens');
  assert.equal(a.usage.output_tokens, 3);
});
