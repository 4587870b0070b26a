/** Every injected fault, by header and by flag, as the official `openai` client sees it. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startLlmSim, type LlmSim, type LlmSimOptions } from '../../src/llm-sim/index.js';
import { countTokens } from '../../src/llm-sim/tokenizer.js';
import { parseFault } from '../../src/llm-sim/faults.js';

const sims: LlmSim[] = [];
after(() => Promise.all(sims.map((s) => s.close())));

async function sim(options: Partial<LlmSimOptions> = {}): Promise<{ sim: LlmSim; client: OpenAI }> {
  const s = await startLlmSim({ port: 0, timeScale: 0.01, ...options });
  sims.push(s);
  return { sim: s, client: new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'test', maxRetries: 0 }) };
}

const body = { model: 'llm-sim', messages: [{ role: 'user' as const, content: 'Hello' }], max_tokens: 20 };
const fault = (spec: string) => ({ headers: { 'x-llm-sim-fault': spec } });

/** Reads a stream, keeping the content received before an error. */
async function drain(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  const pieces: string[] = [];
  let error: unknown;
  let finish: string | null = null;
  try {
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) pieces.push(content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
  } catch (err) {
    error = err;
  }
  return { pieces, error, finish };
}

test('fault specs parse, and a bad one names the grammar', () => {
  assert.deepEqual(parseFault('cut:3'), { kind: 'cut', after: 3 });
  assert.deepEqual(parseFault('stall-after:2:1s'), { kind: 'stall', after: 2, ms: 1000 });
  assert.deepEqual(parseFault('stall:forever'), { kind: 'stall', after: 0, ms: Infinity });
  assert.equal(parseFault('none'), undefined);
  assert.throws(() => parseFault('cut'), /K must be a whole number/);
  assert.throws(() => parseFault('explode'), /unknown fault "explode" \(expected 429/);
});

test('429, 500, 401 and context-length answer with OpenAI’s status, type and code', async () => {
  const { sim: s, client } = await sim();
  const rows: Array<[string, number, string | null]> = [
    ['429', 429, 'rate_limit_exceeded'],
    ['500', 500, null],
    ['401', 401, 'invalid_api_key'],
    ['context-length', 400, 'context_length_exceeded'],
  ];
  for (const [spec, status, code] of rows) {
    const err = await client.chat.completions.create(body, fault(spec)).then(
      () => assert.fail(`${spec}: expected an error`),
      (e: InstanceType<typeof OpenAI.APIError>) => e,
    );
    assert.equal(err.status, status, spec);
    assert.equal(err.code ?? null, code, spec);
  }
  assert.deepEqual(
    s.stats().requests.map((r) => [r.fault, r.completionTokens]),
    rows.map(([spec]) => [spec, 0]),
  );
});

test('cut:K closes the stream after K content chunks: no finish, no usage, the count equals what was sent', async () => {
  const { sim: s, client } = await sim();
  const stream = await client.chat.completions.create(
    { ...body, stream: true, stream_options: { include_usage: true } },
    fault('cut:3'),
  );
  const { pieces, error, finish } = await drain(stream);
  assert.ok(error, 'the client sees the connection end early');
  assert.equal(finish, null);
  assert.equal(pieces.length, 3);
  await s.idle();
  const [record] = s.stats().requests;
  assert.equal(record!.outcome, 'cut');
  assert.equal(record!.completionTokens, 3);
  assert.equal(record!.text, pieces.join(''));
  assert.equal(countTokens(pieces.join('')), 3);
  assert.equal(record!.usageReported, false);
});

test('cut:K without streaming closes the connection without an answer', async () => {
  const { sim: s, client } = await sim();
  await assert.rejects(client.chat.completions.create(body, fault('cut:2')), OpenAI.APIConnectionError);
  await s.idle();
  assert.equal(s.stats().requests[0]!.outcome, 'cut');
});

test('malformed:K sends one chunk that is not JSON after K content chunks', async () => {
  const { client } = await sim();
  const stream = await client.chat.completions.create({ ...body, stream: true }, fault('malformed:2'));
  const { pieces, error } = await drain(stream);
  assert.equal(pieces.length, 2);
  assert.match(String(error), /JSON/);
});

test('stall:D delays the first token by D (model time × --time-scale)', async () => {
  const { sim: s, client } = await sim({ timeScale: 0.1 });
  await client.chat.completions.create({ ...body, max_tokens: 1 }, fault('stall:500ms'));
  const [record] = s.stats().requests;
  // prefill 30 ms + 0.2 ms × prompt, plus the 500 ms stall, all × 0.1
  assert.ok(record!.ttftMs! >= 0.1 * (30 + 500) - 1, `ttft ${record!.ttftMs}`);
});

test('stall:forever never answers: the client times out and the server frees the sequence', async () => {
  const { sim: s, client } = await sim();
  await assert.rejects(
    client.chat.completions.create(body, { ...fault('stall:forever'), timeout: 300 }),
    OpenAI.APIConnectionTimeoutError,
  );
  await s.idle();
  assert.equal(s.stats().requests[0]!.outcome, 'abort');
  assert.deepEqual(s.load(), { running: 0, waiting: 0, kvUsage: 0 });
});

test('stall-after:K:forever sends K chunks, then nothing until the client gives up', async () => {
  const { sim: s, client } = await sim();
  const abort = new AbortController();
  const stream = await client.chat.completions.create(
    { ...body, stream: true },
    { ...fault('stall-after:2:forever'), signal: abort.signal },
  );
  const pieces: string[] = [];
  try {
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) pieces.push(content);
      if (pieces.length === 2) abort.abort(); // nothing more would come
    }
  } catch {
    // the client reports its own abort, or ends the iteration quietly
  }
  assert.equal(pieces.length, 2);
  await s.idle();
  const [record] = s.stats().requests;
  assert.equal(record!.outcome, 'abort');
  assert.equal(record!.completionTokens, 2);
});

test('--fault with --fault-rate hits the same requests for the same seed, and x-llm-sim-fault: none opts out', async () => {
  const run = async () => {
    const { client } = await sim({
      fault: { kind: 'status', status: 500 },
      faultRate: 0.5,
      seed: 11,
    });
    const outcomes: number[] = [];
    for (let i = 0; i < 20; i++)
      outcomes.push(
        await client.chat.completions.create({ ...body, max_tokens: 1 }).then(
          () => 200,
          (e: InstanceType<typeof OpenAI.APIError>) => e.status!,
        ),
      );
    const optOut = await client.chat.completions.create({ ...body, max_tokens: 1 }, fault('none'));
    assert.equal(optOut.object, 'chat.completion');
    return outcomes;
  };
  const a = await run();
  assert.deepEqual(await run(), a);
  const failed = a.filter((s) => s === 500).length;
  assert.ok(failed > 3 && failed < 17, `${failed} of 20 failed`);
});

test('--api-key: a request without the key gets 401; Bearer and x-api-key pass', async () => {
  const { sim: s } = await sim({ apiKey: 'sekret' });
  const ok = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
  const wrong = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'nope', maxRetries: 0 });
  assert.equal((await ok.chat.completions.create({ ...body, max_tokens: 1 })).object, 'chat.completion');
  await assert.rejects(wrong.chat.completions.create(body), OpenAI.AuthenticationError);
  const viaHeader = await fetch(`${s.url}/v1/models`, { headers: { 'x-api-key': 'sekret' } });
  assert.equal(viaHeader.status, 200);
});
