// What the official SDKs actually send passes the validators, and the translated body passes the
// other format's validator: bodies captured from openai 6 and @anthropic-ai/sdk 1 by a fetch that
// records the request (no socket). Also the SDKs read luascale's error bodies and non-streaming
// translations as they read the providers' own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { anthropicToOpenaiChat } from '../../../src/llm/formats/anthropic-to-openai-request.js';
import {
  anthropicResponseToOpenaiChat,
  openaiChatResponseToAnthropic,
} from '../../../src/llm/formats/chat-response.js';
import { anthropicError, openaiError, type ErrorReply } from '../../../src/llm/formats/errors.js';
import { openaiChatToAnthropic } from '../../../src/llm/formats/openai-to-anthropic-request.js';
import { validateAnthropicMessages } from '../../../src/llm/formats/validate-anthropic.js';
import {
  validateOpenaiChat,
  validateOpenaiCompletion,
  validateOpenaiEmbedding,
} from '../../../src/llm/formats/validate-openai.js';

/** A fetch that records each request body and answers `reply` as JSON. */
function recorder(reply: ErrorReply | { status: number; body: unknown }): {
  bodies: unknown[];
  fetch: typeof fetch;
} {
  const bodies: unknown[] = [];
  return {
    bodies,
    fetch: async (_url, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify(reply.body), {
        status: reply.status,
        headers: { 'content-type': 'application/json' },
      });
    },
  };
}

const OPENAI_COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'ok', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

test('openai SDK chat and completion bodies (tools, tool results, images) validate and translate to valid Anthropic', async () => {
  const r = recorder({ status: 200, body: OPENAI_COMPLETION });
  const client = new OpenAI({ apiKey: 'k', baseURL: 'http://sdk.invalid/v1', fetch: r.fetch, maxRetries: 0 });
  await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      { role: 'developer', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'look', arguments: '{"q":1}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'a cat' },
    ],
    tools: [
      {
        type: 'function',
        function: {
          name: 'look',
          description: 'd',
          parameters: { type: 'object', properties: {} },
          strict: true,
        },
      },
    ],
    tool_choice: 'auto',
    max_completion_tokens: 50,
    stop: ['END'],
    temperature: 0.2,
  });
  await client.completions.create({ model: 'm', prompt: ['a'], max_tokens: 3 });
  const [chat, completion] = r.bodies;
  const v = validateOpenaiChat(chat);
  assert.ok(v.ok, JSON.stringify(v));
  const a = openaiChatToAnthropic(v.value);
  assert.ok(a.ok && validateAnthropicMessages(a.value).ok, JSON.stringify(a));
  assert.ok(validateOpenaiCompletion(completion).ok);
});

test('openai SDK embedding bodies validate (the SDK asks for base64 by default)', async () => {
  const r = recorder({
    status: 200,
    body: { object: 'list', data: [], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } },
  });
  const client = new OpenAI({ apiKey: 'k', baseURL: 'http://sdk.invalid/v1', fetch: r.fetch, maxRetries: 0 });
  await client.embeddings.create({ model: 'e', input: ['one', 'two'] });
  assert.ok(validateOpenaiEmbedding(r.bodies[0]).ok, JSON.stringify(r.bodies[0]));
});

test('@anthropic-ai/sdk message bodies (system blocks, tools, tool_result, image) validate and translate to valid OpenAI', async () => {
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'c',
    content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 1 },
  };
  const r = recorder({ status: 200, body: message });
  const client = new Anthropic({ apiKey: 'k', baseURL: 'http://sdk.invalid', fetch: r.fetch, maxRetries: 0 });
  await client.messages.create({
    model: 'claude',
    max_tokens: 100,
    system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral' } }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
          { type: 'text', text: '?' },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'look', input: { q: 1 } }] },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 't1', content: 'a cat', is_error: false }],
      },
    ],
    tools: [{ name: 'look', description: 'd', input_schema: { type: 'object', properties: {} } }],
    tool_choice: { type: 'auto' },
    stop_sequences: ['END'],
    metadata: { user_id: 'u' },
  });
  const v = validateAnthropicMessages(r.bodies[0]);
  assert.ok(v.ok, JSON.stringify(v));
  const o = anthropicToOpenaiChat(v.value);
  assert.ok(o.ok && validateOpenaiChat(o.value).ok, JSON.stringify(o));
});

test('the SDKs read the non-streaming translations: Anthropic message from OpenAI, OpenAI completion from Anthropic', async () => {
  const toAnthropic = openaiChatResponseToAnthropic({
    ...OPENAI_COMPLETION,
    usage: {
      prompt_tokens: 30,
      completion_tokens: 2,
      total_tokens: 32,
      prompt_tokens_details: { cached_tokens: 20 },
    },
  });
  const a = new Anthropic({
    apiKey: 'k',
    baseURL: 'http://sdk.invalid',
    fetch: recorder({ status: 200, body: toAnthropic }).fetch,
  });
  const message = await a.messages.create({
    model: 'm',
    max_tokens: 5,
    messages: [{ role: 'user', content: 'x' }],
  });
  assert.deepEqual(
    [
      message.content[0]?.type,
      message.stop_reason,
      message.usage.input_tokens,
      message.usage.cache_read_input_tokens,
    ],
    ['text', 'end_turn', 10, 20],
  );
  const toOpenai = anthropicResponseToOpenaiChat(
    {
      id: 'msg_1',
      model: 'c',
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'stop_sequence',
      usage: { input_tokens: 3, cache_read_input_tokens: 4, output_tokens: 1 },
    },
    { created: 9 },
  );
  const o = new OpenAI({
    apiKey: 'k',
    baseURL: 'http://sdk.invalid/v1',
    fetch: recorder({ status: 200, body: toOpenai }).fetch,
  });
  const done = await o.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  assert.deepEqual(
    [done.choices[0]?.message.content, done.choices[0]?.finish_reason, done.usage?.prompt_tokens],
    ['hi', 'stop', 7],
  );
});

test('the SDKs raise their own error classes for luascale error bodies, with the message', async () => {
  const o = new OpenAI({
    apiKey: 'k',
    baseURL: 'http://sdk.invalid/v1',
    maxRetries: 0,
    fetch: recorder(openaiError(429, 'tokens_per_minute exceeded')).fetch,
  });
  await assert.rejects(
    o.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    (e: unknown) => {
      assert.ok(e instanceof OpenAI.RateLimitError);
      assert.equal(e.message, '429 tokens_per_minute exceeded');
      return true;
    },
  );
  const notFound = recorder(anthropicError(404, 'model: unknown model nope'));
  const a = new Anthropic({
    apiKey: 'k',
    baseURL: 'http://sdk.invalid',
    maxRetries: 0,
    fetch: notFound.fetch,
  });
  await assert.rejects(
    a.messages.create({ model: 'nope', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }),
    (e: unknown) => {
      assert.ok(e instanceof Anthropic.NotFoundError);
      assert.match(e.message, /model: unknown model nope/);
      return true;
    },
  );
});
