/** llm-sim's Messages API against the official `@anthropic-ai/sdk` client on a loopback port. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startLlmSim, type LlmSim, type LlmSimOptions } from '../../src/llm-sim/index.js';
import { chatPromptText, countTokens } from '../../src/llm-sim/tokenizer.js';

const sims: LlmSim[] = [];
after(() => Promise.all(sims.map((s) => s.close())));

async function sim(options: Partial<LlmSimOptions> = {}): Promise<{ sim: LlmSim; client: Anthropic }> {
  const s = await startLlmSim({ port: 0, timeScale: 0.01, api: 'anthropic', ...options });
  sims.push(s);
  return { sim: s, client: new Anthropic({ baseURL: s.url, apiKey: 'test', maxRetries: 0 }) };
}

const request = {
  model: 'llm-sim',
  system: 'You are terse.',
  messages: [{ role: 'user' as const, content: 'Tell me about autoscaling.' }],
};

test('a message: usage is the server’s own count; input_tokens of the documented rendering', async () => {
  const { sim: s, client } = await sim();
  const msg = await client.messages.create({ ...request, max_tokens: 20 });
  const [record] = s.stats().requests;
  assert.equal(msg.type, 'message');
  assert.equal(msg.id, record!.id);
  assert.equal(msg.stop_reason, 'max_tokens');
  assert.deepEqual(msg.content, [{ type: 'text', text: record!.text }]);
  assert.equal(msg.usage.output_tokens, 20);
  assert.equal(msg.usage.output_tokens, record!.completionTokens);
  assert.equal(msg.usage.input_tokens, record!.promptTokens);
  assert.equal(
    record!.promptTokens,
    countTokens(
      chatPromptText([
        { role: 'system', text: 'You are terse.' },
        { role: 'user', text: 'Tell me about autoscaling.' },
      ]),
    ),
  );
});

test('a stream: message_start … message_stop in order, cumulative usage in message_delta, same text', async () => {
  const { sim: s, client } = await sim({ outputTokens: { min: 8, max: 8 } });
  const stream = await client.messages.create({ ...request, max_tokens: 100, stream: true });
  const types: string[] = [];
  let text = '';
  let delta: Anthropic.RawMessageDeltaEvent | undefined;
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    if (event.type === 'message_delta') delta = event;
  }
  assert.deepEqual(types, [
    'message_start',
    'content_block_start',
    ...Array(8).fill('content_block_delta'),
    'content_block_stop',
    'message_delta',
    'message_stop',
  ]);
  const [record] = s.stats().requests;
  assert.equal(text, record!.text);
  assert.equal(delta!.delta.stop_reason, 'end_turn');
  assert.equal(delta!.usage.output_tokens, 8);
  assert.ok(record!.usageReported);
});

test('the SDK’s stream helper assembles the same message as the non-streaming call', async () => {
  const { client } = await sim();
  const plain = await client.messages.create({ ...request, max_tokens: 30 });
  const streamed = await client.messages.stream({ ...request, max_tokens: 30 }).finalMessage();
  assert.deepEqual(streamed.content, plain.content);
  assert.equal(streamed.usage.output_tokens, plain.usage.output_tokens);
  assert.equal(streamed.stop_reason, plain.stop_reason);
});

test('stop_sequences end the text with stop_reason stop_sequence and name the sequence', async () => {
  const { client } = await sim();
  const full = await client.messages.create({ ...request, max_tokens: 60 });
  const text = (full.content[0] as Anthropic.TextBlock).text;
  const stop = ` ${text.split(' ')[3]}`;
  const cut = await client.messages.create({ ...request, max_tokens: 60, stop_sequences: [stop] });
  assert.equal((cut.content[0] as Anthropic.TextBlock).text, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.stop_reason, 'stop_sequence');
  assert.equal(cut.stop_sequence, stop);
});

test('a repeated prefix is reported as cache_read_input_tokens, excluded from input_tokens', async () => {
  const { client } = await sim({ maxModelLen: 4096 });
  const system = 'Scaling policies are sandboxed Lua scripts. '.repeat(40);
  const a = await client.messages.create({ ...request, system, max_tokens: 2 });
  const b = await client.messages.create({ ...request, system, max_tokens: 2 });
  assert.equal(a.usage.cache_read_input_tokens, 0);
  assert.ok(b.usage.cache_read_input_tokens! > 0);
  assert.equal(b.usage.input_tokens + b.usage.cache_read_input_tokens!, a.usage.input_tokens);
});

test('errors come as {type: "error", error: {type, message}} with the right status', async () => {
  const { sim: s, client } = await sim();
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected an error'),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
  const missing = await fail(
    client.messages.create({ ...request } as unknown as Anthropic.MessageCreateParamsNonStreaming),
  );
  assert.equal(missing.status, 400);
  assert.deepEqual((missing.error as { type: string }).type, 'error');
  assert.equal((missing.error as { error: { type: string } }).error.type, 'invalid_request_error');
  const unknown = await fail(client.messages.create({ ...request, model: 'claude-9', max_tokens: 5 }));
  assert.equal(unknown.status, 404);
  assert.equal((unknown.error as { error: { type: string } }).error.type, 'not_found_error');
  const limited = await fail(
    client.messages.create({ ...request, max_tokens: 5 }, { headers: { 'x-llm-sim-fault': '429' } }),
  );
  assert.equal(limited.status, 429);
  assert.equal((limited.error as { error: { type: string } }).error.type, 'rate_limit_error');
  const chat = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
  assert.equal(chat.status, 404);
  assert.equal(((await chat.json()) as { type: string }).type, 'error');
});
