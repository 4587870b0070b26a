/**
 * The front door with the official clients (openai 6.x, @anthropic-ai/sdk) against llm-sim
 * backends: both client formats, streaming and not, each reaching a backend of the other format;
 * the ledger row's usage equals llm-sim's own count; the stream without include_usage reaches the
 * client byte for byte as llm-sim sends it without the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startDoor, instancesModel, type Door } from './harness.js';
import type { LlmSim } from '../../../src/llm-sim/index.js';
import type { LlmModelOptions } from '../../../src/llm/front-door/index.js';

const openai = (d: Door) => new OpenAI({ apiKey: 'unused', baseURL: `${d.base}/v1`, maxRetries: 0 });
const anthropic = (d: Door) => new Anthropic({ apiKey: 'unused', baseURL: d.base, maxRetries: 0 });
const MSG = [{ role: 'user' as const, content: 'Tell me about the sea' }];

/** The last llm-sim record and the ledger's last row agree on every token count. */
function sameUsage(door: Door, sim: LlmSim): void {
  const rec = sim.stats().requests.at(-1)!;
  const row = door.rows.at(-1)!;
  assert.equal(row.usageSource, 'reported');
  assert.equal(row.input, rec.promptTokens);
  assert.equal(row.cachedInput, rec.cachedTokens);
  assert.equal(row.output, rec.completionTokens);
}

/** Model `m` served by a hosted Anthropic-format backend (an llm-sim with `--api anthropic` and a key). */
const anthropicHosted =
  (key: string) =>
  (_sims: LlmSim[], extra: LlmSim[]): Record<string, LlmModelOptions> => ({
    m: {
      backends: [{ anthropic: { base_url: extra[0]!.url, api_key: key } }],
      ttftMs: 5000,
      interTokenMs: 5000,
      maxTokensDefault: 32,
    },
  });

test('an OpenAI client gets answers from OpenAI-format instances, streaming and not; usage is llm-sim’s', async () => {
  const door = await startDoor();
  try {
    const c = openai(door);
    const r = await c.chat.completions.create({ model: 'm', messages: MSG, max_tokens: 8 });
    assert.ok(r.choices[0]!.message.content!.length > 0);
    assert.equal(r.usage!.completion_tokens, door.sims[0]!.stats().requests.at(-1)!.completionTokens);
    sameUsage(door, door.sims[0]!);
    let text = '';
    let usageSeen = false;
    const s = await c.chat.completions.create({ model: 'm', messages: MSG, stream: true });
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageSeen = true;
    }
    assert.equal(text, door.sims[0]!.stats().requests.at(-1)!.text);
    assert.equal(usageSeen, false, 'the usage chunk the client did not ask for is stripped');
    sameUsage(door, door.sims[0]!);
    const withUsage = await c.chat.completions.create({
      model: 'm',
      messages: MSG,
      stream: true,
      stream_options: { include_usage: true },
    });
    let reported = 0;
    for await (const chunk of withUsage) if (chunk.usage) reported = chunk.usage.completion_tokens;
    assert.equal(reported, door.sims[0]!.stats().requests.at(-1)!.completionTokens);
    sameUsage(door, door.sims[0]!);
  } finally {
    await door.close();
  }
});

test('an Anthropic client reaches OpenAI-format instances, streaming and not (translated both ways)', async () => {
  const door = await startDoor();
  try {
    const c = anthropic(door);
    const m = await c.messages.create({ model: 'm', max_tokens: 8, system: 'be brief', messages: MSG });
    const rec = door.sims[0]!.stats().requests.at(-1)!;
    assert.equal(rec.api, 'chat');
    assert.equal(m.type, 'message');
    assert.equal((m.content[0] as { text: string }).text, rec.text);
    assert.equal(m.usage.output_tokens, rec.completionTokens);
    sameUsage(door, door.sims[0]!);
    const stream = c.messages.stream({ model: 'm', max_tokens: 8, messages: MSG });
    const final = await stream.finalMessage();
    const rec2 = door.sims[0]!.stats().requests.at(-1)!;
    assert.equal((final.content[0] as { text: string }).text, rec2.text);
    assert.equal(final.usage.output_tokens, rec2.completionTokens);
    sameUsage(door, door.sims[0]!);
  } finally {
    await door.close();
  }
});

test('an OpenAI client reaches a hosted Anthropic backend with the key from the config, never in the ledger', async () => {
  const key = 'sk-ant-secret-0123456789';
  const door = await startDoor({
    extra: [{ api: 'anthropic', apiKey: key }],
    models: anthropicHosted(key),
  });
  try {
    const c = openai(door);
    const r = await c.chat.completions.create({ model: 'm', messages: MSG, max_tokens: 8 });
    const rec = door.extra[0]!.stats().requests.at(-1)!;
    assert.equal(rec.api, 'messages');
    assert.equal(r.choices[0]!.message.content, rec.text);
    assert.equal(r.usage!.completion_tokens, rec.completionTokens);
    sameUsage(door, door.extra[0]!);
    let text = '';
    let usage = 0;
    const s = await c.chat.completions.create({
      model: 'm',
      messages: MSG,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    const rec2 = door.extra[0]!.stats().requests.at(-1)!;
    assert.equal(text, rec2.text);
    assert.equal(usage, rec2.completionTokens);
    sameUsage(door, door.extra[0]!);
    assert.ok(!JSON.stringify(door.rows).includes(key), 'the provider key is not in the ledger');
    assert.match(door.rows.at(-1)!.backend, /^anthropic:127\.0\.0\.1:\d+$/);
  } finally {
    await door.close();
  }
});

test('an Anthropic client reaches Anthropic-format instances byte for byte (passthrough)', async () => {
  const door = await startDoor({ models: () => ({ m: instancesModel('anthropic') }) });
  try {
    const final = await anthropic(door)
      .messages.stream({ model: 'm', max_tokens: 8, messages: MSG })
      .finalMessage();
    const rec = door.sims[0]!.stats().requests.at(-1)!;
    assert.equal(rec.api, 'messages');
    assert.equal((final.content[0] as { text: string }).text, rec.text);
    sameUsage(door, door.sims[0]!);
  } finally {
    await door.close();
  }
});

/** An SSE body with the per-response ids and timestamps masked. */
const masked = (s: string) => s.replace(/chatcmpl-[0-9a-f]+/g, 'ID').replace(/"created":\d+/g, '"created":0');

test('a stream without include_usage reaches the client as llm-sim sends it without the option', async () => {
  const door = await startDoor();
  try {
    const body = JSON.stringify({ model: 'm', messages: MSG, stream: true, max_tokens: 6 });
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
    const direct = await (await fetch(`${door.sims[0]!.url}/v1/chat/completions`, init)).text();
    const via = await (await fetch(`${door.base}/v1/chat/completions`, init)).text();
    assert.ok(!direct.includes('usage'));
    assert.equal(masked(via), masked(direct));
    // …while the backend was asked for usage, and the ledger has it
    sameUsage(door, door.sims[0]!);
    assert.equal(door.sims[0]!.stats().requests.at(-1)!.usageReported, true);
  } finally {
    await door.close();
  }
});

test('GET /v1/models lists the models for both clients', async () => {
  const door = await startDoor();
  try {
    const list = await openai(door).models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      ['m'],
    );
    const alist = await anthropic(door).models.list();
    assert.deepEqual(
      alist.data.map((m) => m.id),
      ['m'],
    );
  } finally {
    await door.close();
  }
});

test('GET /v1/models/{id} answers one model for both clients (an id with a slash too); an unknown one is 404 in each format', async () => {
  const door = await startDoor({
    models: () => ({ m: instancesModel('openai'), 'org/m-7b': instancesModel('openai') }),
  });
  try {
    const o = openai(door);
    const a = anthropic(door);
    assert.equal((await o.models.retrieve('m')).id, 'm');
    assert.equal((await o.models.retrieve('org/m-7b')).id, 'org/m-7b');
    const info = await a.models.retrieve('org/m-7b');
    assert.equal(info.id, 'org/m-7b');
    assert.equal(info.type, 'model');
    await assert.rejects(o.models.retrieve('nope'), (e: unknown) => {
      assert.ok(e instanceof OpenAI.NotFoundError);
      assert.match(e.message, /nope/);
      return true;
    });
    await assert.rejects(a.models.retrieve('nope'), (e: unknown) => {
      assert.ok(e instanceof Anthropic.NotFoundError);
      assert.equal((e.error as { type: string }).type, 'error');
      return true;
    });
  } finally {
    await door.close();
  }
});

test('POST /v1/messages/count_tokens (Anthropic SDK countTokens) counts what a Messages call is charged, without a backend call', async () => {
  const door = await startDoor({ models: () => ({ m: instancesModel('anthropic') }) });
  try {
    const a = anthropic(door);
    const req = {
      model: 'm',
      system: 'You are terse.',
      messages: [
        { role: 'user' as const, content: 'Tell me about the sea' },
        { role: 'assistant' as const, content: 'It is wet.' },
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'And the sky?' }] },
      ],
    };
    const counted = await a.messages.countTokens(req);
    assert.equal(door.sims[0]!.stats().requests.length, 0, 'no backend was asked');
    assert.equal(door.rows.length, 0, 'no ledger row: nothing was generated');
    const r = await a.messages.create({ ...req, max_tokens: 4 });
    assert.ok(counted.input_tokens > 10);
    assert.equal(counted.input_tokens, r.usage.input_tokens);
    await assert.rejects(a.messages.countTokens({ ...req, model: 'nope' }), Anthropic.NotFoundError);
    await assert.rejects(a.messages.countTokens({ ...req, messages: [] }), Anthropic.BadRequestError);
  } finally {
    await door.close();
  }
});
