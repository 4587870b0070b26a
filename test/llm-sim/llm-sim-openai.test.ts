/**
 * llm-sim against the official `openai` client on a loopback port: formats, usage equal to the
 * server's own counts, determinism, errors, the queue, the prefix cache. --time-scale keeps it fast.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startLlmSim, type LlmSim, type LlmSimOptions } from '../../src/llm-sim/index.js';
import { chatPromptText, countTokens } from '../../src/llm-sim/tokenizer.js';

const sims: LlmSim[] = [];
after(() => Promise.all(sims.map((s) => s.close())));

async function sim(options: Partial<LlmSimOptions> = {}): Promise<{ sim: LlmSim; client: OpenAI }> {
  const s = await startLlmSim({ port: 0, timeScale: 0.01, ...options });
  sims.push(s);
  return { sim: s, client: new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'test', maxRetries: 0 }) };
}

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Tell me about autoscaling.' },
];

test('a chat completion: its usage is the server’s own count, and prompt_tokens the documented rendering’s', async () => {
  const { sim: s, client } = await sim();
  const res = await client.chat.completions.create({ model: 'llm-sim', messages, max_tokens: 50 });
  const [record] = s.stats().requests;
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.id, record!.id);
  assert.equal(res.choices[0]!.message.content, record!.text);
  assert.deepEqual(res.usage, {
    prompt_tokens: record!.promptTokens,
    completion_tokens: record!.completionTokens,
    total_tokens: record!.promptTokens + record!.completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  assert.equal(
    record!.promptTokens,
    countTokens(chatPromptText(messages.map((m) => ({ role: m.role, text: m.content })))),
  );
  assert.equal(countTokens(record!.text), record!.completionTokens);
  assert.ok(record!.usageReported);
});

test('a stream with include_usage: usage null on every chunk, then a choices: [] chunk with the usage', async () => {
  const { sim: s, client } = await sim();
  const stream = await client.chat.completions.create({
    model: 'llm-sim',
    messages,
    max_tokens: 30,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const last = chunks.at(-1)!;
  const finish = chunks.at(-2)!;
  assert.deepEqual(last.choices, []);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
  assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
  assert.equal(finish.choices[0]!.finish_reason, 'length');
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  const [record] = s.stats().requests;
  assert.equal(text, record!.text);
  assert.equal(last.usage!.completion_tokens, 30);
  assert.equal(last.usage!.completion_tokens, record!.completionTokens);
  assert.equal(last.usage!.prompt_tokens, record!.promptTokens);
  assert.equal(countTokens(text), 30);
  assert.ok(record!.usageReported);
});

test('a stream without include_usage has no usage key and no usage chunk', async () => {
  const { sim: s, client } = await sim();
  const stream = await client.chat.completions.create({ model: 'llm-sim', messages, stream: true });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.every((c) => !('usage' in c) && c.choices.length === 1));
  assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop');
  assert.equal(s.stats().requests[0]!.usageReported, false);
});

test('/v1/completions, streaming and not, give the same text for the same prompt', async () => {
  const { sim: s, client } = await sim();
  const plain = await client.completions.create({
    model: 'llm-sim',
    prompt: 'Once upon a time',
    max_tokens: 12,
  });
  const stream = await client.completions.create({
    model: 'llm-sim',
    prompt: 'Once upon a time',
    max_tokens: 12,
    stream: true,
  });
  let text = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]!.text;
    finish = chunk.choices[0]!.finish_reason ?? finish;
  }
  assert.equal(plain.object, 'text_completion');
  assert.equal(text, plain.choices[0]!.text);
  assert.equal(finish, 'length');
  assert.equal(plain.usage!.prompt_tokens, countTokens('Once upon a time'));
  assert.equal(s.stats().totals.completionTokens, 24);
});

test('the same seed and prompt give the same text on another server; another seed does not', async () => {
  const ask = async (seed: number) => {
    const { client } = await sim({ seed });
    const r = await client.chat.completions.create({ model: 'llm-sim', messages, max_tokens: 40 });
    return r.choices[0]!.message.content;
  };
  const a = await ask(3);
  assert.equal(await ask(3), a);
  assert.notEqual(await ask(4), a);
});

test('stop ends the text before the stop sequence with finish_reason stop', async () => {
  const { client } = await sim();
  const full = await client.chat.completions.create({ model: 'llm-sim', messages, max_tokens: 60 });
  const text = full.choices[0]!.message.content!;
  const stop = text.split(' ')[4]!;
  const cut = await client.chat.completions.create({
    model: 'llm-sim',
    messages,
    max_tokens: 60,
    stop: [` ${stop}`],
  });
  assert.equal(cut.choices[0]!.message.content, text.slice(0, text.indexOf(` ${stop}`)));
  assert.equal(cut.choices[0]!.finish_reason, 'stop');
});

test('errors come in OpenAI’s shape: unknown model 404, n=2 and bad fields 400, over the context length 400', async () => {
  const { sim: s, client } = await sim({ maxModelLen: 64 });
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected an error'),
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
  const unknown = await fail(client.chat.completions.create({ model: 'gpt-9', messages }));
  assert.equal(unknown.status, 404);
  assert.equal(unknown.code, 'model_not_found');
  const n = await fail(client.chat.completions.create({ model: 'llm-sim', messages, n: 2 }));
  assert.equal(n.status, 400);
  assert.equal(n.param, 'n');
  const long = await fail(client.chat.completions.create({ model: 'llm-sim', messages, max_tokens: 60 }));
  assert.equal(long.status, 400);
  assert.equal(long.code, 'context_length_exceeded');
  const raw = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: '{"model":' });
  assert.equal(raw.status, 400);
  const body = (await raw.json()) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  const bad = await fail(client.chat.completions.create({ model: 'llm-sim', messages: [] }));
  assert.equal(bad.param, 'messages');
});

test('/v1/models and /health answer; /v1/messages is 404 unless --api anthropic or both', async () => {
  const { sim: s, client } = await sim({ models: ['a', 'b'] });
  const models = await client.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['a', 'b'],
  );
  assert.equal((await fetch(`${s.url}/health`)).status, 200);
  assert.equal((await fetch(`${s.url}/v1/messages`, { method: 'POST', body: '{}' })).status, 404);
});

test('max-seqs run, max-waiting wait, the next request gets 429; a freed seat lets the waiting one finish', async () => {
  const { sim: s, client } = await sim({ maxNumSeqs: 1, maxWaiting: 1 });
  const body = JSON.stringify({ model: 'llm-sim', messages, max_tokens: 5, stream: true });
  const abort = new AbortController();
  // A stream's headers come at admission: once fetch resolves the request runs or waits.
  const first = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    body,
    headers: { 'x-llm-sim-fault': 'stall:forever' },
    signal: abort.signal,
  });
  const second = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body });
  assert.deepEqual(s.load(), { running: 1, waiting: 1, kvUsage: s.load().kvUsage });
  const third = await client.chat.completions.create({ model: 'llm-sim', messages, max_tokens: 5 }).then(
    () => undefined,
    (e: InstanceType<typeof OpenAI.APIError>) => e,
  );
  assert.equal(third?.status, 429);
  assert.equal(third?.code, 'rate_limit_exceeded');
  abort.abort();
  await first.body?.cancel().catch(() => {});
  const text = await second.text();
  assert.match(text, /data: \[DONE\]\n\n$/);
  await s.idle();
  assert.deepEqual(
    s.stats().requests.map((r) => [r.status, r.outcome]),
    [
      [200, 'abort'],
      [200, 'length'],
      [429, 'error'],
    ],
  );
});

test('a repeated prompt prefix is served from the KV cache: cached_tokens reported, TTFT much lower', async () => {
  const { sim: s, client } = await sim({
    timeScale: 0.2,
    prefillPerTokenMs: 2,
    prefillOverheadMs: 5,
    maxModelLen: 4096,
  });
  const document = 'The gateway admits requests and the controller scales instances. '.repeat(60);
  const ask = (question: string) =>
    client.chat.completions.create({
      model: 'llm-sim',
      messages: [
        { role: 'system', content: document },
        { role: 'user', content: question },
      ],
      max_tokens: 2,
    });
  const cold = await ask('What scales?');
  const warm = await ask('What admits?');
  const [a, b] = s.stats().requests;
  assert.equal(cold.usage!.prompt_tokens_details!.cached_tokens, 0);
  const cached = warm.usage!.prompt_tokens_details!.cached_tokens!;
  // Every full block before the question: at most one block and the question's tokens are not.
  assert.ok(cached >= warm.usage!.prompt_tokens - 32 && cached % 16 === 0, `cached ${cached}`);
  // cold: (5 + ~600 × 2) × 0.2 ≈ 240 ms; warm: (5 + ~20 × 2) × 0.2 ≈ 9 ms, plus event-loop lag.
  assert.ok(b!.ttftMs! < a!.ttftMs! / 4, `cold ${a!.ttftMs} ms, warm ${b!.ttftMs} ms`);
  assert.ok(a!.ttftMs! >= 0.2 * (5 + 2 * a!.promptTokens) - 1);
});
