/**
 * Embeddings with the official `openai` client: llm-sim's `/v1/embeddings` on its own, and through
 * the front door to OpenAI-format instances. The client asks for base64 unless told otherwise and
 * decodes it itself, so both encodings must carry the same vector; usage reaches the ledger as
 * llm-sim counted it; a fallback on a refused backend; an Anthropic-only model refuses embeddings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startDoor, instancesModel } from './harness.js';
import { startLlmSim } from '../../../src/llm-sim/index.js';
import { countTokens } from '../../../src/llm-sim/tokenizer.js';

const client = (base: string) => new OpenAI({ apiKey: 'unused', baseURL: `${base}/v1`, maxRetries: 0 });

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

test('llm-sim /v1/embeddings: deterministic unit vectors, base64 = float32 of the float answer, dimensions, usage', async () => {
  const sim = await startLlmSim({ port: 0, models: ['e'], timeScale: 0.001, embeddingDims: 64 });
  try {
    const c = client(sim.url);
    const floats = await c.embeddings.create({
      model: 'e',
      input: ['the sea', 'a ship'],
      encoding_format: 'float',
    });
    assert.equal(floats.data.length, 2);
    const [sea, ship] = floats.data.map((d) => d.embedding);
    assert.equal(sea!.length, 64);
    assert.ok(Math.abs(dot(sea!, sea!) - 1) < 1e-9, 'unit length');
    assert.ok(Math.abs(dot(sea!, ship!)) < 0.9, 'different inputs, different vectors');
    assert.equal(floats.usage.prompt_tokens, countTokens('the sea') + countTokens('a ship'));
    assert.equal(floats.usage.total_tokens, floats.usage.prompt_tokens);

    // The client's default: it asks for base64 and decodes it into numbers.
    const decoded = await c.embeddings.create({ model: 'e', input: 'the sea' });
    const again = decoded.data[0]!.embedding;
    assert.equal(again.length, 64);
    for (let i = 0; i < 64; i++) assert.equal(again[i], Math.fround(sea![i]!), `component ${i}`);

    const short = await c.embeddings.create({
      model: 'e',
      input: 'the sea',
      dimensions: 8,
      encoding_format: 'float',
    });
    assert.equal(short.data[0]!.embedding.length, 8);
    assert.ok(Math.abs(dot(short.data[0]!.embedding, short.data[0]!.embedding) - 1) < 1e-9);

    const tokens = await c.embeddings.create({ model: 'e', input: [[1, 2, 3]], encoding_format: 'float' });
    assert.equal(tokens.usage.prompt_tokens, 3);

    const rec = sim.stats().requests.at(-1)!;
    assert.equal(rec.api, 'embeddings');
    assert.equal(rec.promptTokens, 3);
    assert.equal(rec.completionTokens, 0);
  } finally {
    await sim.close();
  }
});

test('llm-sim /v1/embeddings refuses bad input naming the field, in OpenAI’s error shape', async () => {
  const sim = await startLlmSim({
    port: 0,
    models: ['e'],
    timeScale: 0.001,
    embeddingDims: 16,
    maxModelLen: 8,
  });
  try {
    const c = client(sim.url);
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ model: 'e', input: '' }, 400, 'input'],
      [{ model: 'e', input: [] }, 400, 'input'],
      [{ model: 'e', input: ['ok', 7] }, 400, 'input'],
      [{ model: 'e', input: 'x', encoding_format: 'hex' }, 400, 'encoding_format'],
      [{ model: 'e', input: 'x', dimensions: 0 }, 400, 'dimensions'],
      [{ model: 'e', input: 'x', dimensions: 17 }, 400, 'dimensions'],
      [{ model: 'e', input: 'one two three four five six seven eight nine ten' }, 400, 'input'],
      [{ model: 'nope', input: 'x' }, 404, 'model'],
    ];
    for (const [body, status, param] of cases) {
      await assert.rejects(
        c.embeddings.create(body as never),
        (err: InstanceType<typeof OpenAI.APIError>) => {
          assert.equal(err.status, status, JSON.stringify(body));
          assert.equal((err.error as { param?: string }).param, param, JSON.stringify(body));
          return true;
        },
      );
    }
  } finally {
    await sim.close();
  }
});

test('embeddings through the front door: the client’s base64 default and float agree; the ledger has llm-sim’s tokens', async () => {
  const door = await startDoor({ instances: [{ models: ['m'], embeddingDims: 32 }] });
  try {
    const c = client(door.base);
    const viaFloat = await c.embeddings.create({
      model: 'm',
      input: ['hello world'],
      encoding_format: 'float',
    });
    const viaDefault = await c.embeddings.create({ model: 'm', input: ['hello world'] });
    assert.equal(viaFloat.data[0]!.embedding.length, 32);
    assert.deepEqual(
      Array.from(viaDefault.data[0]!.embedding),
      viaFloat.data[0]!.embedding.map((x) => Math.fround(x)),
    );
    const rec = door.sims[0]!.stats().requests.at(-1)!;
    const row = door.rows.at(-1)!;
    assert.equal(rec.api, 'embeddings');
    assert.equal(row.usageSource, 'reported');
    assert.equal(row.input, rec.promptTokens);
    assert.equal(row.input, countTokens('hello world'));
    assert.equal(row.output, 0);
    assert.equal(row.status, 200);
  } finally {
    await door.close();
  }
});

test('embeddings fall back past a backend that answers 500; an Anthropic-only model refuses them with a 400', async () => {
  const door = await startDoor({
    instances: [{ models: ['m'], fault: { kind: 'status', status: 500 } }],
    extra: [{ models: ['m'] }],
    models: (_sims, extra) => ({
      m: {
        backends: [
          { instances: { format: 'openai' } },
          { openai: { base_url: `${extra[0]!.url}/v1`, api_key: 'k' } },
        ],
        ttftMs: 5000,
        interTokenMs: 5000,
        maxTokensDefault: 16,
      },
      a: instancesModel('anthropic'),
    }),
  });
  try {
    const c = client(door.base);
    const r = await c.embeddings.create({ model: 'm', input: 'fallback', encoding_format: 'float' });
    assert.equal(r.data.length, 1);
    assert.equal(door.sims[0]!.stats().requests.at(-1)!.status, 500);
    assert.equal(door.extra[0]!.stats().requests.at(-1)!.status, 200);
    assert.equal(door.rows.at(-1)!.input, door.extra[0]!.stats().requests.at(-1)!.promptTokens);
    await assert.rejects(
      c.embeddings.create({ model: 'a', input: 'x' }),
      (err: InstanceType<typeof OpenAI.APIError>) => err.status === 400,
    );
  } finally {
    await door.close();
  }
});
