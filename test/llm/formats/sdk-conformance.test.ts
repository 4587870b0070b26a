// The translated golden streams read by the official SDKs (openai, @anthropic-ai/sdk) through a
// fetch that answers with the recorded bytes (no socket): the SDKs' own accumulators must rebuild
// the message (text, tool calls with parsed input, stop reason, usage), and an error event after
// the first byte must surface as the SDK's APIError, not as a silently short answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

function fixture(name: string): string {
  return readFileSync(`test/fixtures/llm/${name}`, 'utf8');
}

/** A fetch that answers every request with `body` as an event stream, in small pieces. */
function replay(body: string): typeof fetch {
  return async () => {
    const bytes = new TextEncoder().encode(body);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 13) controller.enqueue(bytes.subarray(at, at + 13));
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}

const anthropicClient = (body: string) =>
  new Anthropic({ apiKey: 'test', baseURL: 'http://sdk.invalid', fetch: replay(body), maxRetries: 0 });
const openaiClient = (body: string) =>
  new OpenAI({ apiKey: 'test', baseURL: 'http://sdk.invalid/v1', fetch: replay(body), maxRetries: 0 });

const ask = { model: 'm', max_tokens: 100, messages: [{ role: 'user' as const, content: 'weather?' }] };

test('@anthropic-ai/sdk rebuilds the message from an OpenAI tool-call stream translated to Anthropic', async () => {
  const stream = anthropicClient(fixture('openai-chat-tools.to-anthropic.sse')).messages.stream(ask);
  const message = await stream.finalMessage();
  assert.deepEqual(
    message.content.map((b) =>
      b.type === 'tool_use' ? { id: b.id, input: b.input } : b.type === 'text' ? b.text : b.type,
    ),
    [
      'Checking both cities.',
      { id: 'call_Paris01', input: { city: 'Paris' } },
      { id: 'call_Tokyo02', input: { city: 'Tōkyō' } },
    ],
  );
  assert.equal(message.stop_reason, 'tool_use');
  assert.equal(message.usage.output_tokens, 58);
  assert.equal(message.usage.input_tokens, 176);
  assert.equal(message.usage.cache_read_input_tokens, 1024);
});

test('@anthropic-ai/sdk reads llm-sim OpenAI text translated to Anthropic: text, max_tokens, usage', async () => {
  const message = await anthropicClient(fixture('openai-chat-text.to-anthropic.sse'))
    .messages.stream(ask)
    .finalMessage();
  assert.deepEqual(
    message.content.map((b) => (b.type === 'text' ? b.text : b.type)),
    ['Hello there, héllo ✓'],
  );
  assert.equal(message.stop_reason, 'max_tokens');
  assert.equal(message.usage.output_tokens, 4);
});

test('@anthropic-ai/sdk throws an APIError for a stream cut after the first byte (translated)', async () => {
  for (const file of ['openai-chat-tools.cut.to-anthropic.sse', 'openai-chat-error.to-anthropic.sse']) {
    const stream = anthropicClient(fixture(file)).messages.stream(ask);
    await assert.rejects(stream.finalMessage(), (e: unknown) => e instanceof Anthropic.APIError, file);
  }
});

test('openai SDK rebuilds the completion from an Anthropic tool-use stream translated to OpenAI', async () => {
  const stream = openaiClient(fixture('anthropic-tool-use.to-openai.sse')).chat.completions.stream({
    model: 'm',
    messages: [{ role: 'user', content: 'weather?' }],
    stream_options: { include_usage: true },
  });
  const done = await stream.finalChatCompletion();
  const choice = done.choices[0]!;
  assert.equal(choice.message.content, 'Okay, let me check the weather.');
  assert.deepEqual(
    choice.message.tool_calls?.map((c) =>
      c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : c.type,
    ),
    [['toolu_01Weather', 'get_weather', { location: 'San Francisco, CA' }]],
  );
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(done.usage?.prompt_tokens, 4020);
  assert.equal(done.usage?.prompt_tokens_details?.cached_tokens, 2048);
  assert.equal(done.usage?.completion_tokens, 89);
});

test('openai SDK throws an APIError for a stream cut after the first byte (translated)', async () => {
  for (const file of ['anthropic-tool-use.cut.to-openai.sse', 'anthropic-error.to-openai.sse']) {
    const client = openaiClient(fixture(file));
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) void chunk;
      })(),
      (e: unknown) => e instanceof OpenAI.APIError,
      file,
    );
  }
});
