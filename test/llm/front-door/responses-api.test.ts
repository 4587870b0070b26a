/**
 * The OpenAI Responses API at the front door (`POST /v1/responses`), through the official `openai`
 * client: whole and streamed answers from an OpenAI-format llm-sim and an Anthropic-format one, the
 * usage equal to llm-sim's own counts and one ledger row each; refusals (400 naming the field,
 * 404 for an unknown model); a stream cut after the first byte ends with `error` and
 * `response.failed` (and a client that leaves gets an estimated ledger row); a backend failing
 * before the first byte gives way to the next one; keys (401)
 * and token budgets (reserved with max_output_tokens, settled to the usage, 429 and 400) as for chat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { encode } from 'gpt-tokenizer';
import { instancesModel, startDoor, type Door } from './harness.js';
import { parseFault, type LlmSim } from '../../../src/llm-sim/index.js';
import type { LlmModelOptions } from '../../../src/llm/front-door/index.js';
import { MemoryTokenLimiter } from '../../../src/llm/budget/memory-token-limiter.js';

const client = (door: Door, prefix = '') =>
  new OpenAI({ apiKey: 'x', baseURL: `${door.base}${prefix}/v1`, maxRetries: 0 });

for (const format of ['openai', 'anthropic'] as const) {
  test(`responses.create through an ${format}-format backend: the text, usage equal to llm-sim's, a ledger row`, async () => {
    const door = await startDoor({
      instances: [{ api: format }],
      models: () => ({ m: instancesModel(format) }),
    });
    try {
      const row = door.nextRow();
      const r = await client(door).responses.create({
        model: 'm',
        instructions: 'Be brief.',
        input: 'Write about rivers',
        max_output_tokens: 40,
        metadata: { trace: 't1' },
      });
      const sim = door.sims[0]!.stats().requests.at(-1)!;
      assert.match(r.id, /^resp_/);
      assert.equal(r.object, 'response');
      assert.equal(r.status, 'completed');
      assert.equal(r.model, 'm');
      assert.equal(r.instructions, 'Be brief.');
      assert.deepEqual(r.metadata, { trace: 't1' });
      assert.equal(r.output[0]!.type, 'message');
      assert.equal(r.output_text, sim.text);
      assert.ok(sim.text.length > 0);
      assert.equal(r.usage!.input_tokens, sim.promptTokens);
      assert.equal(r.usage!.output_tokens, sim.completionTokens);
      assert.equal(r.usage!.total_tokens, sim.promptTokens + sim.completionTokens);
      assert.equal(r.usage!.input_tokens_details.cached_tokens, sim.cachedTokens);
      const led = await row;
      assert.equal(led.usageSource, 'reported');
      assert.equal(led.input, sim.promptTokens);
      assert.equal(led.output, sim.completionTokens);
      assert.equal(led.status, 200);
    } finally {
      await door.close();
    }
  });

  test(`responses.stream through an ${format}-format backend: the documented events, usage equal to llm-sim's`, async () => {
    const door = await startDoor({
      instances: [{ api: format }],
      models: () => ({ m: instancesModel(format) }),
    });
    try {
      const row = door.nextRow();
      const stream = client(door, '/ai').responses.stream({
        model: 'm',
        input: [{ role: 'user', content: 'Tell a story' }],
      });
      const events: { type: string; sequence_number: number }[] = [];
      let deltas = '';
      for await (const ev of stream) {
        events.push(ev);
        if (ev.type === 'response.output_text.delta') deltas += ev.delta;
      }
      const final = await stream.finalResponse();
      const sim = door.sims[0]!.stats().requests.at(-1)!;
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
      ]);
      assert.deepEqual(types.slice(-4), [
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      assert.ok(types.slice(4, -4).every((t) => t === 'response.output_text.delta'));
      assert.deepEqual(
        events.map((e) => e.sequence_number),
        events.map((_, i) => i),
      );
      assert.equal(deltas, sim.text);
      assert.equal(final.output_text, sim.text);
      assert.equal(final.status, 'completed');
      assert.equal(final.usage!.input_tokens, sim.promptTokens);
      assert.equal(final.usage!.output_tokens, sim.completionTokens);
      const led = await row;
      assert.equal(led.usageSource, 'reported');
      assert.equal(led.input, sim.promptTokens);
      assert.equal(led.output, sim.completionTokens);
    } finally {
      await door.close();
    }
  });
}

test('a length finish is status incomplete (max_output_tokens), whole and streamed', async () => {
  const door = await startDoor({ instances: [{ outputTokens: { min: 30, max: 30 } }] });
  try {
    const c = client(door);
    const r = await c.responses.create({ model: 'm', input: 'Write about rivers', max_output_tokens: 3 });
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(r.usage!.output_tokens, 3);
    assert.deepEqual(
      r.output.map((i) => (i as { status?: string }).status),
      ['incomplete'],
    );
    const types: string[] = [];
    const itemStatus: unknown[] = [];
    for await (const ev of await c.responses.create({
      model: 'm',
      input: 'x',
      max_output_tokens: 3,
      stream: true,
    })) {
      types.push(ev.type);
      if (ev.type === 'response.output_item.done') itemStatus.push((ev.item as { status?: string }).status);
    }
    assert.equal(types.at(-1), 'response.incomplete');
    assert.deepEqual(itemStatus, ['incomplete']);
  } finally {
    await door.close();
  }
});

test('refusals: 400 in OpenAI’s format naming the field; 404 for an unknown model', async () => {
  const door = await startDoor();
  try {
    const c = client(door);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ previous_response_id: 'resp_1' }, 'previous_response_id', /stateless/],
      [{ conversation: 'conv_1' }, 'conversation', /stateless/],
      [{ tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] }, 'tools[1].type', /web_search/],
      [
        { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x/y.png' }] }] },
        'input[0].content[0].type',
        /input_image/,
      ],
      [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type', /item_reference/],
      [{ max_output_tokens: 0 }, 'max_output_tokens', /max_output_tokens/],
    ];
    for (const [extra, param, message] of cases) {
      const err = await c.responses
        .create({ model: 'm', input: 'hi', ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, `${param}: ${String(err)}`);
      assert.equal(err.param, param);
      assert.match(err.message, message);
    }
    const ok = await c.responses.create({ model: 'm', input: 'hi', store: true });
    assert.equal(ok.status, 'completed', 'store: true is accepted (nothing is stored)');
    const missing = await c.responses.create({ model: 'nope', input: 'hi' }).catch((e: unknown) => e);
    assert.ok(missing instanceof OpenAI.NotFoundError);
    assert.equal(door.sims[0]!.stats().requests.length, 1, 'only the accepted request reached the backend');
  } finally {
    await door.close();
  }
});

for (const format of ['openai', 'anthropic'] as const)
  test(`a ${format} backend's stream cut after the first byte ends with error and response.failed, usage estimated`, async () => {
    const door = await startDoor({
      instances: [{ api: format, fault: parseFault('cut:3'), outputTokens: { min: 30, max: 30 } }],
      models: () => ({ m: instancesModel(format) }),
    });
    try {
      const row = door.nextRow();
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const ev of await client(door).responses.create({
        model: 'm',
        input: 'Tell a story',
        stream: true,
      }))
        events.push(ev);
      const last = events.slice(-2);
      assert.equal(last[0]!.type, 'error');
      assert.match((last[0] as OpenAI.Responses.ResponseErrorEvent).message, /mid-stream/);
      assert.equal(last[1]!.type, 'response.failed');
      const failed = (last[1] as OpenAI.Responses.ResponseFailedEvent).response;
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.code, 'server_error');
      assert.ok(!events.some((e) => e.type === 'response.completed'), 'no clean end after a cut');
      assert.equal(events[0]!.type, 'response.created');
      const ended = Date.now();
      const r = await row;
      assert.ok(Date.now() - ended < 1000, 'a ledger row within a second');
      assert.equal(r.usageSource, 'estimated');
      assert.equal(r.outcome, 'cut');
      let delivered = '';
      for (const e of events) if (e.type === 'response.output_text.delta') delivered += e.delta;
      const received = encode(delivered).length;
      assert.ok(received >= 2, `received ${received} tokens`);
      assert.ok(Math.abs(r.output - received) <= 1, `ledger ${r.output}, client ${received}`);
      assert.equal(r.input, door.sims[0]!.stats().requests.at(-1)!.promptTokens);
    } finally {
      await door.close();
    }
  });

test('before the first byte a failing backend gives way to the next (streamed and whole)', async () => {
  const models = (_sims: LlmSim[], extra: LlmSim[]): Record<string, LlmModelOptions> => ({
    m: {
      backends: [
        { openai: { base_url: extra[0]!.url, api_key: 'k' } },
        { instances: { format: 'anthropic' } },
      ],
      ttftMs: 5000,
      interTokenMs: 5000,
      maxTokensDefault: 64,
    },
  });
  const door = await startDoor({
    extra: [{ fault: parseFault('500') }],
    instances: [{ api: 'anthropic' }],
    models,
  });
  try {
    const c = client(door);
    let text = '';
    for await (const ev of await c.responses.create({ model: 'm', input: 'hi', stream: true }))
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    assert.equal(text, door.sims[0]!.stats().requests.at(-1)!.text);
    const r = await c.responses.create({ model: 'm', input: 'hi' });
    assert.equal(r.output_text, door.sims[0]!.stats().requests.at(-1)!.text);
    assert.equal(door.extra[0]!.stats().requests.length, 2, 'the first backend was tried each time');
    assert.equal(door.rows.at(-1)!.backend, 'instances:sim0');
  } finally {
    await door.close();
  }
});

test('keys and token budgets as for chat: 401, the reservation settled to the usage, 429, 400 naming max_output_tokens', async () => {
  const KEY = 'lsk_0123456789abcdef_test';
  const door = await startDoor({
    keys: { verify: (k) => (k === KEY ? { consumer: 'demo', keyId: '0123456789abcdef' } : undefined) },
    stage: {
      limiter: new MemoryTokenLimiter({ consumers: { demo: { limits: { tokens_per_minute: 400 } } } }),
    },
  });
  try {
    const bad = await new OpenAI({ apiKey: 'wrong', baseURL: `${door.base}/v1`, maxRetries: 0 }).responses
      .create({ model: 'm', input: 'hi' })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof OpenAI.AuthenticationError, String(bad));
    const c = new OpenAI({ apiKey: KEY, baseURL: `${door.base}/v1`, maxRetries: 0 });
    // Each reserves ~300 of the 400 and settles to its usage (~20), so the second fits only if the
    // first was settled.
    const a = await c.responses.create({ model: 'm', input: 'hi', max_output_tokens: 300 });
    const b = await c.responses.create({ model: 'm', input: 'hi', max_output_tokens: 300 });
    const used = a.usage!.total_tokens + b.usage!.total_tokens;
    assert.equal(door.rows.length, 2);
    assert.equal(door.rows[1]!.consumer, 'demo');
    // prompt + max_output_tokens fits the limit alone, not with what a and b used: 429 with Retry-After
    const over = await c.responses
      .create({ model: 'm', input: 'hi', max_output_tokens: 400 - a.usage!.input_tokens - used + 1 })
      .catch((e: unknown) => e);
    assert.ok(over instanceof OpenAI.RateLimitError, String(over));
    assert.ok(Number(over.headers?.get('retry-after')) >= 1);
    const whole = await c.responses
      .create({ model: 'm', input: 'hi', max_output_tokens: 5000 })
      .catch((e: unknown) => e);
    assert.ok(whole instanceof OpenAI.BadRequestError, String(whole));
    assert.equal(whole.param, 'max_output_tokens');
    assert.match(whole.message, /the largest max_output_tokens that fits is/);
  } finally {
    await door.close();
  }
});

test('a Responses client that leaves mid-stream gets a ledger row within 1 s, estimated from what it received', async () => {
  const door = await startDoor({
    instances: [{ outputTokens: { min: 200, max: 200 }, timeScale: 1, itlMs: 40 }],
  });
  try {
    const row = door.nextRow();
    // What the client received is what came off the wire, not what the loop had read when it left:
    // the SDK reads ahead, and on a loaded machine a few events more sit in its buffer.
    let wire = '';
    const counting: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      const reader = res.body!.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) return c.close();
          wire += Buffer.from(value).toString();
          c.enqueue(value);
        },
        cancel: (why) => reader.cancel(why),
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const c = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0, fetch: counting });
    const stream = await c.responses.create({ model: 'm', input: 'Tell a story', stream: true });
    let deltas = 0;
    for await (const e of stream) {
      if (e.type === 'response.output_text.delta' && ++deltas === 4) break; // leaving the loop aborts the request
    }
    const left = Date.now();
    const r = await row;
    assert.ok(Date.now() - left < 1000);
    assert.equal(r.usageSource, 'estimated');
    assert.equal(r.outcome, 'client_closed');
    assert.equal(r.status, 499);
    const delivered = wire
      .split('\n\n')
      .slice(0, -1) // whole events only
      .map((e) => /^data: (.*)$/m.exec(e)?.[1])
      .map((d) => (d === undefined ? undefined : (JSON.parse(d) as { type: string; delta?: string })))
      .filter((d) => d?.type === 'response.output_text.delta')
      .map((d) => d!.delta)
      .join('');
    assert.ok(deltas === 4 && delivered.length > 0);
    const received = encode(delivered).length;
    assert.ok(Math.abs(r.output - received) <= 1, `ledger ${r.output}, client read ${received}`);
  } finally {
    await door.close();
  }
});
