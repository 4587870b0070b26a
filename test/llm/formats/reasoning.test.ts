/**
 * Reasoning across the two formats (docs/llm-formats.md, "Reasoning"): an OpenAI-compatible
 * backend's `reasoning_content` and `completion_tokens_details.reasoning_tokens` (llm-sim
 * `reasoningTokens`, as vLLM and DeepSeek send them) reach an Anthropic client as `thinking` blocks
 * and `thinking_delta`s, an Anthropic backend's thinking reaches an OpenAI client as
 * `reasoning_content`, the ledger row's `reasoning` holds the reported reasoning tokens, and the
 * request fields with no faithful counterpart (`reasoning_effort`, `thinking`, thinking history) are
 * dropped. Real `openai` and `@anthropic-ai/sdk` clients; llm-sim behind the front door.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startDoor, type Door } from '../front-door/harness.js';
import { startLlmSim } from '../../../src/llm-sim/index.js';
import {
  anthropicResponseToOpenaiChat,
  openaiChatResponseToAnthropic,
} from '../../../src/llm/formats/chat-response.js';
import { openaiChatToAnthropic } from '../../../src/llm/formats/openai-to-anthropic-request.js';
import { anthropicToOpenaiChat } from '../../../src/llm/formats/anthropic-to-openai-request.js';
import { usageFromOpenai } from '../../../src/llm/formats/usage.js';
import type { JsonObject } from '../../../src/llm/formats/checked.js';

const THINKS = 3;
let door: Door;
before(async () => {
  door = await startDoor({ instances: [{ reasoningTokens: THINKS, outputTokens: { min: 8, max: 8 } }] });
});
after(() => door.close());

const messages = [{ role: 'user' as const, content: 'Think first, then answer.' }];

test('openai client, openai backend: reasoning_content passes and the ledger row counts the reasoning tokens', async () => {
  const openai = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
  const row = door.nextRow();
  const r = await openai.chat.completions.create({ model: 'm', messages });
  const sim = door.sims[0]!.stats().requests.at(-1)!;
  assert.equal(sim.reasoningTokens, THINKS);
  assert.equal(r.usage?.completion_tokens_details?.reasoning_tokens, THINKS);
  assert.ok(((r.choices[0]!.message as unknown as JsonObject).reasoning_content as string).length > 0);
  const u = await row;
  assert.equal(u.reasoning, THINKS);
  assert.equal(u.output, sim.completionTokens, 'reasoning is part of output, not added to it');
});

test('anthropic client, openai backend: thinking block first, thinking_delta stream, ledger reasoning', async () => {
  const anthropic = new Anthropic({ apiKey: 'x', baseURL: door.base, maxRetries: 0 });
  let row = door.nextRow();
  const m = await anthropic.messages.create({ model: 'm', max_tokens: 64, messages });
  const sim = door.sims[0]!.stats().requests.at(-1)!;
  const [thinking, text] = m.content;
  assert.equal(thinking?.type, 'thinking');
  assert.equal(text?.type, 'text');
  if (thinking?.type === 'thinking' && text?.type === 'text') {
    assert.equal(thinking.signature, '', 'luascale has no signature to give');
    assert.equal(text.text, sim.text);
    assert.ok(thinking.thinking.length > 0);
  }
  assert.equal(m.usage.output_tokens, sim.completionTokens);
  assert.equal((await row).reasoning, THINKS);

  row = door.nextRow();
  const deltas: string[] = [];
  const stream = anthropic.messages.stream({ model: 'm', max_tokens: 64, messages });
  stream.on('thinking', (d) => deltas.push(d));
  const final = await stream.finalMessage();
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['thinking', 'text'],
  );
  const block = final.content[0];
  assert.ok(block?.type === 'thinking' && block.thinking === deltas.join('') && deltas.length === THINKS);
  assert.equal((await row).reasoning, THINKS);
});

test('openai client streaming: delta.reasoning_content chunks, then content; usage has reasoning_tokens', async () => {
  const openai = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
  const row = door.nextRow();
  const stream = await openai.chat.completions.create({
    model: 'm',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let reasoning = 0;
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const c of stream) {
    if (typeof (c.choices[0]?.delta as JsonObject | undefined)?.reasoning_content === 'string') reasoning++;
    usage = c.usage ?? usage;
  }
  assert.equal(reasoning, THINKS);
  assert.equal(usage?.completion_tokens_details?.reasoning_tokens, THINKS);
  assert.equal((await row).reasoning, THINKS);
});

test('an Anthropic backend’s thinking reaches an OpenAI client as reasoning_content (redacted thinking dropped)', async () => {
  const sim = await startLlmSim({
    port: 0,
    api: 'anthropic',
    models: ['m'],
    timeScale: 0.001,
    outputTokens: { min: 8, max: 8 },
    reasoningTokens: THINKS,
  });
  try {
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'm',
        max_tokens: 64,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages,
      }),
    });
    const body = (await res.json()) as JsonObject & { content: JsonObject[] };
    assert.equal(body.content[0]!.type, 'thinking');
    body.content.splice(1, 0, { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' });
    const chat = anthropicResponseToOpenaiChat(body, { created: 0 }) as {
      choices: [{ message: JsonObject }];
    };
    const msg = chat.choices[0].message;
    assert.equal(msg.reasoning_content, body.content[0]!.thinking);
    assert.equal(msg.content, body.content[2]!.text);
    // and back: the reasoning becomes one thinking block before the text
    const again = openaiChatResponseToAnthropic(chat as unknown as JsonObject) as { content: JsonObject[] };
    assert.deepEqual(again.content[0], { type: 'thinking', thinking: msg.reasoning_content, signature: '' });
    // `reasoning` (vLLM's newer name, OpenRouter's) is read too
    const other = openaiChatResponseToAnthropic({
      choices: [{ message: { role: 'assistant', content: 'a', reasoning: 'r' }, finish_reason: 'stop' }],
    }) as { content: JsonObject[] };
    assert.deepEqual(other.content[0], { type: 'thinking', thinking: 'r', signature: '' });
  } finally {
    await sim.close();
  }
});

test('reasoning_effort, thinking and thinking history have no faithful counterpart: dropped, not guessed', () => {
  const toA = openaiChatToAnthropic({
    model: 'm',
    reasoning_effort: 'high',
    messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a', reasoning_content: 'because' } as never,
      { role: 'user', content: 'q2' },
    ],
  } as never);
  assert.ok(toA.ok);
  if (toA.ok) {
    assert.equal((toA.value as unknown as JsonObject).thinking, undefined);
    assert.equal((toA.value as unknown as JsonObject).reasoning_effort, undefined);
    assert.equal(toA.value.messages[1]!.content, 'a');
  }
  const toO = anthropicToOpenaiChat({
    model: 'm',
    max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'because', signature: 'sig' },
          { type: 'text', text: 'a' },
        ],
      },
      { role: 'user', content: 'q2' },
    ],
  } as never);
  assert.ok(toO.ok);
  if (toO.ok) {
    const v = toO.value as unknown as JsonObject;
    assert.equal(v.reasoning_effort, undefined);
    assert.equal(v.thinking, undefined);
    assert.equal(toO.value.messages[1]!.content, 'a');
    assert.equal((toO.value.messages[1] as unknown as JsonObject).reasoning_content, undefined);
  }
  // the usage record: reasoning is the part of output OpenAI reports
  assert.deepEqual(
    usageFromOpenai({
      prompt_tokens: 5,
      completion_tokens: 9,
      completion_tokens_details: { reasoning_tokens: 4 },
    }),
    { input: 5, cachedInput: 0, cacheWrite: 0, output: 9, reasoning: 4 },
  );
});
