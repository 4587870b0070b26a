/**
 * Reasoning through the Responses API: a reasoning model's `reasoning_content` (llm-sim
 * `--reasoning-tokens`) reaches the official `openai` client as a `reasoning` output item with a
 * `reasoning_text` part, whole and streamed (the SDK's accumulator rebuilds it from the
 * `response.reasoning_text.*` events), before the message, with its tokens in
 * `output_tokens_details.reasoning_tokens`; the output passed back as the next input (a stateless
 * client's conversation) is accepted; `reasoning.effort` reaches the backend as `reasoning_effort`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startDoor } from './harness.js';

const REASONING = 3;

test('a reasoning item before the message, whole and streamed, with the reasoning tokens in the usage', async () => {
  const door = await startDoor({
    instances: [{ reasoningTokens: REASONING, outputTokens: { min: 8, max: 8 } }],
  });
  try {
    const c = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
    const ask = { model: 'm', input: 'Think about rivers' };
    const whole = await c.responses.create(ask);
    const sim = door.sims[0]!.stats().requests.at(-1)!;
    assert.deepEqual(
      whole.output.map((o) => o.type),
      ['reasoning', 'message'],
    );
    const item = whole.output[0] as OpenAI.Responses.ResponseReasoningItem;
    assert.match(item.id, /^rs_/);
    assert.equal(item.status, 'completed');
    assert.equal(item.content!.length, 1);
    assert.equal(item.content![0]!.type, 'reasoning_text');
    const thought = item.content![0]!.text;
    assert.ok(thought.length > 0);
    assert.equal(whole.output_text, sim.text, 'the reasoning is not in the answer text');
    assert.equal(whole.usage!.output_tokens_details.reasoning_tokens, REASONING);
    assert.equal(whole.usage!.output_tokens, sim.completionTokens);

    const events: string[] = [];
    const stream = c.responses.stream(ask);
    stream.on('event', (e) => events.push(e.type));
    const streamed = await stream.finalResponse();
    assert.deepEqual(
      streamed.output.map((o) => o.type),
      ['reasoning', 'message'],
    );
    const sItem = streamed.output[0] as OpenAI.Responses.ResponseReasoningItem;
    assert.equal(sItem.content![0]!.text, thought, 'the same prompt gets the same reasoning');
    assert.equal(streamed.output_text, whole.output_text);
    assert.equal(streamed.usage!.output_tokens_details.reasoning_tokens, REASONING);
    for (const type of [
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.output_text.delta',
    ])
      assert.ok(events.includes(type), type);
    assert.ok(
      events.indexOf('response.reasoning_text.done') < events.indexOf('response.output_text.done'),
      'reasoning closes before the message',
    );

    // A stateless client sends the previous output back with its next turn.
    const next = await c.responses.create({
      model: 'm',
      input: [
        { role: 'user', content: 'Think about rivers' },
        ...(whole.output as OpenAI.Responses.ResponseInputItem[]),
        { role: 'user', content: 'And lakes?' },
      ],
    });
    assert.equal(next.status, 'completed');
  } finally {
    await door.close();
  }
});

test('reasoning.effort reaches a chat backend as reasoning_effort', async () => {
  const bodies: Record<string, unknown>[] = [];
  const backend = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
    });
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/v1`;
  const door = await startDoor({
    instances: [],
    models: () => ({
      m: {
        backends: [{ openai: { base_url: url, api_key: 'k' } }],
        ttftMs: 5000,
        interTokenMs: 5000,
        maxTokensDefault: 16,
      },
    }),
  });
  try {
    const c = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
    const r = await c.responses.create({
      model: 'm',
      input: 'hi',
      reasoning: { effort: 'low', summary: 'auto' },
    });
    assert.equal(r.output_text, 'ok');
    assert.equal(bodies[0]!.reasoning_effort, 'low');
    assert.equal(bodies[0]!.reasoning, undefined, 'the Responses field itself is not sent');
  } finally {
    await door.close();
    backend.close();
  }
});
