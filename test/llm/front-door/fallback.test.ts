/**
 * Fallback: before the first byte reaches the client, a backend that refuses, answers 429 or 500,
 * stalls past the TTFT timeout, or sends a malformed first chunk gives way to the next backend in
 * the model's list. After the first byte, a cut, a malformed chunk or an inter-token stall ends the
 * stream with a well-formed error event and `[DONE]`, and the ledger gets a row marked estimated
 * within a second, its output tokens within 1 of what the client received. So does a client that
 * disconnects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { encode } from 'gpt-tokenizer';
import { startDoor, type Door } from './harness.js';
import { parseFault, type LlmSim } from '../../../src/llm-sim/index.js';
import type { LlmModelOptions } from '../../../src/llm/front-door/index.js';

const MSG = [{ role: 'user' as const, content: 'Write about rivers' }];

/** Model `m`: the first extra sim as a hosted OpenAI backend, then the service's instances. */
const hostedThenInstances =
  (o: { ttftMs?: number; interTokenMs?: number; url?: string } = {}) =>
  (_sims: LlmSim[], extra: LlmSim[]): Record<string, LlmModelOptions> => ({
    m: {
      backends: [
        { openai: { base_url: o.url ?? extra[0]!.url, api_key: 'k' } },
        { instances: { format: 'openai' } },
      ],
      ttftMs: o.ttftMs ?? 5000,
      interTokenMs: o.interTokenMs ?? 5000,
      maxTokensDefault: 64,
    },
  });

async function closedPortUrl(): Promise<string> {
  const s = http.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

for (const [name, fault] of [
  ['answers 429', '429'],
  ['answers 500', '500'],
  ['sends a malformed first chunk', 'malformed:0'],
  ['stalls before the first token', 'stall:forever'],
] as const) {
  test(`a backend that ${name} gives way to the next one, streaming and not`, async () => {
    const door = await startDoor({
      extra: [{ fault: parseFault(fault) }],
      models: hostedThenInstances({ ttftMs: 300, interTokenMs: 1000 }), // a non-streamed answer's deadline is ttft + max_tokens × inter-token
    });
    try {
      const c = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
      let text = '';
      for await (const ch of await c.chat.completions.create({ model: 'm', messages: MSG, stream: true }))
        text += ch.choices[0]?.delta.content ?? '';
      assert.equal(text, door.sims[0]!.stats().requests.at(-1)!.text);
      assert.equal(door.extra[0]!.stats().requests.length >= 1, true, 'the first backend was tried');
      assert.equal(door.rows.at(-1)!.backend, 'instances:sim0');
      assert.equal(door.rows.at(-1)!.usageSource, 'reported');
      if (fault !== 'malformed:0') {
        const r = await c.chat.completions.create({ model: 'm', messages: MSG, max_tokens: 5 });
        assert.equal(r.choices[0]!.message.content, door.sims[0]!.stats().requests.at(-1)!.text);
      }
    } finally {
      await door.close();
    }
  });
}

test('a backend that refuses the connection gives way to the next one', async () => {
  const door = await startDoor({ models: hostedThenInstances({ url: await closedPortUrl() }) });
  try {
    const c = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
    const r = await c.chat.completions.create({ model: 'm', messages: MSG, max_tokens: 5 });
    assert.equal(r.choices[0]!.message.content, door.sims[0]!.stats().requests.at(-1)!.text);
  } finally {
    await door.close();
  }
});

test('when every backend fails, the client gets 502 in its format naming the last failure', async () => {
  const door = await startDoor({ instances: [{ fault: parseFault('500') }] });
  try {
    const res = await fetch(`${door.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: MSG }),
    });
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { message: string; type: string } };
    assert.match(body.error.message, /answered 500/);
    assert.equal(body.error.type, 'server_error');
  } finally {
    await door.close();
  }
});

/** Streams a chat from the gateway with raw fetch: the events' data as received. */
async function rawStream(door: Door, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await fetch(`${door.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'm', messages: MSG, stream: true, max_tokens: 40 }),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

const contentOf = (data: string[]) =>
  data
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as { choices?: { delta?: { content?: string } }[] })
    .map((j) => j.choices?.[0]?.delta?.content ?? '')
    .join('');

for (const [name, fault, interTokenMs] of [
  ['is cut after 3 chunks', 'cut:3', 5000],
  ['sends a malformed chunk after 3', 'malformed:3', 5000],
  ['stalls after 3 chunks', 'stall-after:3:forever', 300],
] as const) {
  test(`a stream that ${name} ends with an error event and [DONE]; the row is estimated within 1 s`, async () => {
    const door = await startDoor({
      instances: [{ fault: parseFault(fault), outputTokens: { min: 30, max: 30 } }],
      models: () => ({
        m: {
          backends: [{ instances: { format: 'openai' } }],
          ttftMs: 5000,
          interTokenMs,
          maxTokensDefault: 64,
        },
      }),
    });
    try {
      const row = door.nextRow();
      const data = await rawStream(door);
      const ended = Date.now();
      assert.equal(data.at(-1), '[DONE]');
      const err = JSON.parse(data.at(-2)!) as { error: { message: string; type: string } };
      assert.match(err.error.message, /mid-stream/);
      const r = await row;
      assert.ok(Date.now() - ended < 1000);
      assert.equal(r.usageSource, 'estimated');
      assert.equal(r.outcome, 'cut');
      const received = encode(contentOf(data.slice(0, -2))).length;
      assert.ok(received >= 3, `received ${received} tokens`);
      assert.ok(Math.abs(r.output - received) <= 1, `ledger ${r.output}, client ${received}`);
      assert.equal(r.input, door.sims[0]!.stats().requests.at(-1)!.promptTokens);
    } finally {
      await door.close();
    }
  });
}

test('a client that disconnects mid-stream gets a ledger row within 1 s, estimated from what it received', async () => {
  const door = await startDoor({
    instances: [{ outputTokens: { min: 200, max: 200 }, timeScale: 1, itlMs: 40 }],
  });
  try {
    const row = door.nextRow();
    const req = http.request(`${door.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.end(JSON.stringify({ model: 'm', messages: MSG, stream: true, max_tokens: 200 }));
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    let got = '';
    for await (const chunk of res) {
      got += String(chunk);
      if (got.split('\n\n').length > 6) break; // five whole events, then leave
    }
    const events = got.split('\n\n').slice(0, -1);
    req.destroy();
    const left = Date.now();
    const r = await row;
    assert.ok(Date.now() - left < 1000);
    assert.equal(r.usageSource, 'estimated');
    assert.equal(r.outcome, 'client_closed');
    assert.equal(r.status, 499);
    const received = encode(contentOf(events.map((e) => e.slice(6)))).length;
    assert.ok(Math.abs(r.output - received) <= 1, `ledger ${r.output}, client read ${received}`);
  } finally {
    await door.close();
  }
});

test('a translated stream (Anthropic client, OpenAI backend) cut after the first byte ends with event: error', async () => {
  const door = await startDoor({
    instances: [{ fault: parseFault('cut:3'), outputTokens: { min: 30, max: 30 } }],
  });
  try {
    const row = door.nextRow();
    const res = await fetch(`${door.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 40, stream: true, messages: MSG }),
    });
    assert.equal(res.status, 200);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    assert.match(events[0]!, /^event: message_start/);
    const last = events.at(-1)!;
    assert.match(last, /^event: error\ndata: /);
    assert.equal((JSON.parse(last.split('data: ')[1]!) as { type: string }).type, 'error');
    assert.ok(!events.some((e) => e.startsWith('event: message_stop')), 'no clean end after a cut');
    const r = await row;
    assert.equal(r.usageSource, 'estimated');
    assert.equal(r.outcome, 'cut');
    assert.ok(r.output >= 3 && r.output <= 4, `output ${r.output}`);
  } finally {
    await door.close();
  }
});
