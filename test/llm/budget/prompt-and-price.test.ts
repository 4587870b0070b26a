import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countPromptTokens,
  maxOutputTokens,
  reservationTokens,
} from '../../../src/llm/budget/count-prompt-tokens.js';
import { costOf, priceTable } from '../../../src/llm/budget/prices.js';
import { startLlmSim, type LlmSim } from '../../../src/llm-sim/index.js';

const sims: LlmSim[] = [];
after(async () => {
  for (const s of sims) await s.close();
});

const chat = {
  model: 'llm-sim',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text: 'What is a token budget?' }] },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 't1', content: '42' },
  ],
  tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
  max_tokens: 7,
};
const messages = {
  model: 'llm-sim',
  system: [{ type: 'text', text: 'You are terse.' }],
  messages: [
    { role: 'user', content: 'What is a token budget?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { q: 1 } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '42' }] },
  ],
  max_tokens: 7,
};

test('countPromptTokens equals the prompt_tokens / input_tokens llm-sim reports, for both formats', async () => {
  const sim = await startLlmSim({ port: 0, api: 'both', timeScale: 0.001 });
  sims.push(sim);
  const post = async (path: string, body: object) =>
    (await (
      await fetch(`${sim.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(body),
      })
    ).json()) as { usage: Record<string, number> };
  const o = await post('/v1/chat/completions', chat);
  assert.equal(countPromptTokens(chat, 'openai-chat'), o.usage.prompt_tokens);
  const a = await post('/v1/messages', messages);
  assert.equal(countPromptTokens(messages, 'anthropic-messages'), a.usage.input_tokens);
  const c = await post('/v1/completions', { model: 'llm-sim', prompt: 'Once upon a time', max_tokens: 3 });
  assert.equal(
    countPromptTokens({ prompt: 'Once upon a time' }, 'openai-completions'),
    c.usage.prompt_tokens,
  );
});

test('the reservation is prompt + max_tokens (max_completion_tokens first), else the default', () => {
  assert.equal(maxOutputTokens({ max_tokens: 5, max_completion_tokens: 9 }, 'openai-chat'), 9);
  assert.equal(maxOutputTokens({}, 'openai-chat'), undefined);
  assert.equal(maxOutputTokens({ input: 'x' }, 'openai-embeddings'), 0);
  const r = reservationTokens({ messages: [{ role: 'user', content: 'hi' }] }, 'openai-chat', 4096);
  assert.equal(r.maxOutput, 4096);
  assert.equal(r.total, r.prompt + 4096);
  assert.equal(countPromptTokens({ input: [[1, 2, 3], 'hello'] }, 'openai-embeddings'), 4);
});

test('costOf prices uncached input, cache reads, cache writes and output apart; reasoning is not charged twice', () => {
  const price = { input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 };
  const cases: Array<[Parameters<typeof costOf>[1], number]> = [
    [{ input: 1_000_000 }, 3],
    [{ input: 1_000_000, cachedInput: 1_000_000 }, 0.3],
    [{ input: 1_000_000, cachedInput: 400_000, cacheWrite: 100_000 }, 0.5 * 3 + 0.4 * 0.3 + 0.1 * 3.75],
    [{ output: 2_000_000, reasoning: 1_000_000 }, 30],
  ];
  for (const [usage, usd] of cases)
    assert.ok(Math.abs(costOf(price, usage) - usd) < 1e-12, JSON.stringify(usage));
  assert.equal(
    costOf({ input: 2, output: 4 }, { input: 10, cachedInput: 10 }),
    20 / 1e6,
    'cached_input defaults to input',
  );
  const t = priceTable({ m: price });
  assert.equal(t.costOf('other', { input: 5 }), 0);
  assert.equal(t.maxCostOf('m', 1000, 1000), (1000 * 3 + 1000 * 15) / 1e6);
});
