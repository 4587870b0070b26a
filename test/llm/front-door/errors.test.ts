/**
 * The front door's refusals in the client's own format: OpenAI's `{"error": {message, type, param,
 * code}}` (the openai client raises its typed errors from them) and Anthropic's `{"type": "error"}`.
 * 400 naming the field, 404 unknown model, 413 over the body limit, 401 from authenticate, 429
 * from the token budget with Retry-After.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startDoor, type Door } from './harness.js';
import { MemoryTokenLimiter } from '../../../src/llm/budget/index.js';
import type { KeyVerifier } from '../../../src/gateway/gateway.js';

const post = (d: Door, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${d.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const keys: KeyVerifier = { verify: (k) => (k === 'good' ? { consumer: 'demo', keyId: 'k1' } : undefined) };

test('400 names the field, in each client’s format', async () => {
  const door = await startDoor();
  try {
    const o = await post(door, '/v1/chat/completions', {
      model: 'm',
      messages: [{ role: 'wizard', content: 'x' }],
    });
    assert.equal(o.status, 400);
    const ob = (await o.json()) as { error: { param: string; type: string; message: string } };
    assert.equal(ob.error.param, 'messages[0].role');
    // the field once, at the start (it was `messages[0].role: messages[0].role: ...`)
    assert.match(ob.error.message, /^messages\[0\]\.role: (?!messages)/);
    assert.equal(ob.error.type, 'invalid_request_error');
    const a = await post(door, '/v1/messages', { model: 'm', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(a.status, 400);
    const ab = (await a.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(ab.type, 'error');
    assert.equal(ab.error.type, 'invalid_request_error');
    assert.match(ab.error.message, /^max_tokens: required/);
    const bad = await post(door, '/v1/chat/completions', '{"model": ');
    assert.equal(bad.status, 400);
    const badBody = (await bad.json()) as { error: { param: string; message: string } };
    assert.equal(badBody.error.param, 'body');
    assert.equal(badBody.error.message, 'the body is not valid JSON');
    const list = await post(door, '/v1/chat/completions', '[]');
    assert.equal(
      ((await list.json()) as { error: { message: string } }).error.message,
      'the body must be a JSON object',
    );
    assert.equal(door.sims[0]!.stats().requests.length, 0, 'nothing reached the backend');
    // a byte order mark before the JSON is ignored (RFC 8259 §8.1)
    const bom = await post(
      door,
      '/v1/chat/completions',
      `\ufeff${JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 })}`,
    );
    assert.equal(bom.status, 200, await bom.clone().text());
    await bom.text();
  } finally {
    await door.close();
  }
});

test('404 for an unknown model: OpenAI’s NotFoundError and Anthropic’s not_found_error', async () => {
  const door = await startDoor();
  try {
    const c = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
    await assert.rejects(
      c.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) =>
        err instanceof OpenAI.NotFoundError && (err.error as { code: string }).code === 'model_not_found',
    );
    const a = new Anthropic({ apiKey: 'x', baseURL: door.base, maxRetries: 0 });
    await assert.rejects(
      a.messages.create({ model: 'nope', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) =>
        err instanceof Anthropic.NotFoundError &&
        (err.error as { error: { type: string } }).error.type === 'not_found_error',
    );
  } finally {
    await door.close();
  }
});

test('413 over the body limit, in the client’s format', async () => {
  const door = await startDoor({ maxBody: 2048 });
  try {
    const big = 'x'.repeat(4096);
    const o = await post(door, '/v1/chat/completions', {
      model: 'm',
      messages: [{ role: 'user', content: big }],
    });
    assert.equal(o.status, 413);
    assert.equal(typeof ((await o.json()) as { error: { message: string } }).error.message, 'string');
    const a = await post(door, '/v1/messages', {
      model: 'm',
      max_tokens: 4,
      messages: [{ role: 'user', content: big }],
    });
    assert.equal(a.status, 413);
    const ab = (await a.json()) as { type: string; error: { type: string } };
    assert.equal(ab.type, 'error');
    assert.equal(ab.error.type, 'request_too_large');
  } finally {
    await door.close();
  }
});

test('401 from authenticate comes in the client’s format (AuthenticationError in both SDKs)', async () => {
  const door = await startDoor({ keys });
  try {
    const c = new OpenAI({ apiKey: 'wrong', baseURL: `${door.base}/v1`, maxRetries: 0 });
    await assert.rejects(
      c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) =>
        err instanceof OpenAI.AuthenticationError &&
        (err.error as { code: string }).code === 'invalid_api_key',
    );
    const a = new Anthropic({ apiKey: 'wrong', baseURL: door.base, maxRetries: 0 });
    await assert.rejects(
      a.messages.create({ model: 'm', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof Anthropic.AuthenticationError,
    );
    const ok = new OpenAI({ apiKey: 'good', baseURL: `${door.base}/v1`, maxRetries: 0 });
    await ok.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 4,
    });
    assert.equal(door.rows.at(-1)!.consumer, 'demo');
  } finally {
    await door.close();
  }
});

test('429 with Retry-After when the token budget cannot hold the reservation; settled usage frees it', async () => {
  const limiter = new MemoryTokenLimiter({ consumers: { demo: { limits: { tokens_per_minute: 60 } } } });
  const door = await startDoor({ keys, stage: { limiter } });
  try {
    const c = new OpenAI({ apiKey: 'good', baseURL: `${door.base}/v1`, maxRetries: 0 });
    const msg = [{ role: 'user' as const, content: 'hi' }];
    // 6 prompt + 100 is more than the whole limit: no retry can fit it, so 400 (not 429)
    await assert.rejects(
      c.chat.completions.create({ model: 'm', messages: msg, max_tokens: 100 }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.equal(err.param, 'max_tokens');
        return true;
      },
    );
    // 6 prompt + 20 reserved fits; settled to the real ~10, two more fit where reservations alone would not
    for (let i = 0; i < 3; i++)
      await c.chat.completions.create({ model: 'm', messages: msg, max_tokens: 20 });
    assert.equal(door.rows.length, 3);
    const a = await post(
      door,
      '/v1/messages',
      { model: 'm', max_tokens: 50, messages: msg }, // fits the limit, not what the three settled left
      { 'x-api-key': 'good' },
    );
    assert.equal(a.status, 429);
    assert.ok(Number(a.headers.get('retry-after')) >= 1);
    assert.equal(((await a.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
  } finally {
    await door.close();
  }
});
