/**
 * A request whose reservation alone is larger than a whole limit (tokens_per_minute 1,000 and
 * max_tokens 5,000) can never be admitted, however long it waits: both limiters say so
 * (`exceeds`), and the front door answers 400 in the client's format naming the limit and the
 * largest max_tokens that fits, instead of 429 "retry in 60 s". Real `openai` and
 * `@anthropic-ai/sdk` clients see it; llm-sim is the backend.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { MemoryTokenLimiter } from '../../../src/llm/budget/memory-token-limiter.js';
import { RedisTokenLimiter } from '../../../src/cluster/redis-token-limiter.js';
import { priceTable } from '../../../src/llm/budget/prices.js';
import { countPromptTokens } from '../../../src/llm/budget/count-prompt-tokens.js';
import type { ConsumerLimitsLike } from '../../../src/llm/budget/token-limits.js';
import type { TokenLimiter } from '../../../src/llm/budget/token-limiter.js';
import { redisForFile } from '../../cluster/redis-server.js';
import { startDoor, type Door } from '../front-door/harness.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const KEY = 'lsk_0123456789abcdef_test';
const live = redisForFile();
let n = 0;

type Make = (consumers: Record<string, { limits?: ConsumerLimitsLike }>) => TokenLimiter;
const makers: Array<[string, Make]> = [
  ['memory', (consumers) => new MemoryTokenLimiter({ consumers })],
  ['redis', (consumers) => new RedisTokenLimiter({ redis: live.redis, prefix: `ov${++n}:`, consumers })],
];

for (const [name, make] of makers) {
  test(`${name}: a reservation over a whole limit is denied with exceeds; one that fits later is not`, async () => {
    const cases: Array<[ConsumerLimitsLike, string, number, number]> = [
      [{ tokens_per_minute: 1000 }, 'tokens_per_minute', 5012, 1000],
      [{ tokens_per_day: 1000 }, 'tokens_per_day', 5012, 1000],
      [{ tokens_per_month: 1000 }, 'tokens_per_month', 5012, 1000],
      [{ models: { m: { tokens_per_minute: 1000 } } }, 'models.m.tokens_per_minute', 5012, 1000],
    ];
    for (const [limits, limit, tokens, value] of cases) {
      const l = make({ c: { limits } });
      const v = await l.reserve({ consumer: 'c', model: 'm', tokens, now: T0 });
      assert.equal(v.ok, false);
      if (v.ok) continue;
      assert.equal(v.limit, limit);
      assert.deepEqual(v.exceeds, { limit: value, unit: 'tokens', amount: tokens });
      // a request that fits the whole limit but not what is left now: a plain 429, no exceeds
      const a = await l.reserve({ consumer: 'c', model: 'm', tokens: 600, now: T0 });
      assert.equal(a.ok, true);
      const b = await l.reserve({ consumer: 'c', model: 'm', tokens: 600, now: T0 });
      assert.equal(b.ok, false);
      if (!b.ok) assert.equal(b.exceeds, undefined, limit);
    }
    const cost = make({ c: { limits: { cost_per_day_usd: 1 } } });
    const v = await cost.reserve({ consumer: 'c', model: 'm', tokens: 10, costUsd: 1.5, now: T0 });
    assert.ok(
      !v.ok && v.exceeds?.unit === 'usd' && v.exceeds.amount === 1.5 && v.limit === 'cost_per_day_usd',
    );
  });
}

test('redis outage fallback: over 1/n of a limit but within the whole of it is a 429, not exceeds', async () => {
  const r = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  const l = new RedisTokenLimiter({
    redis: r,
    prefix: 'down:',
    consumers: { c: { limits: { tokens_per_minute: 900 } } },
    gateways: () => 3,
  });
  const v = await l.reserve({ consumer: 'c', model: 'm', tokens: 400, now: T0 });
  assert.equal(l.stats.fallback, 1);
  assert.ok(!v.ok && v.exceeds === undefined, JSON.stringify(v));
  const w = await l.reserve({ consumer: 'c', model: 'm', tokens: 901, now: T0 });
  assert.ok(!w.ok && w.exceeds?.limit === 900, JSON.stringify(w));
  r.disconnect();
});

let door: Door;
const PROMPT = 'Tell me about token budgets.';
before(async () => {
  door = await startDoor({
    instances: [{ models: ['m', 'priced'] }],
    keys: { verify: (k) => (k === KEY ? { consumer: 'demo', keyId: '0123456789abcdef' } : undefined) },
    stage: {
      limiter: new MemoryTokenLimiter({
        consumers: {
          demo: { limits: { tokens_per_minute: 1000, models: { priced: { cost_per_day_usd: 0.001 } } } },
        },
      }),
      prices: priceTable({ priced: { input: 1, output: 2 } }),
    },
    models: () => ({
      m: {
        backends: [{ instances: { format: 'openai' } }],
        ttftMs: 5000,
        interTokenMs: 5000,
        maxTokensDefault: 64,
      },
      priced: {
        backends: [{ instances: { format: 'openai' } }],
        ttftMs: 5000,
        interTokenMs: 5000,
        maxTokensDefault: 64,
      },
    }),
  });
});
after(() => door.close());

test('openai client: max_tokens 5,000 against 1,000 tokens per minute is a 400 naming the limit and the largest max_tokens', async () => {
  const openai = new OpenAI({ apiKey: KEY, baseURL: `${door.base}/v1`, maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: PROMPT }];
  const prompt = countPromptTokens({ messages }, 'openai-chat');
  const err = await openai.chat.completions.create({ model: 'm', messages, max_tokens: 5000 }).then(
    () => assert.fail('admitted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OpenAI.BadRequestError, String(err));
  assert.equal(err.status, 400);
  assert.equal(err.param, 'max_tokens');
  assert.equal(err.code, 'LS_ERR_LLM_OVER_WHOLE_LIMIT');
  assert.equal(err.type, 'invalid_request_error');
  assert.match(err.message, /tokens_per_minute of consumer demo \(1000 tokens\)/);
  assert.match(err.message, new RegExp(`the largest max_tokens that fits is ${1000 - prompt}$`));
  assert.equal(err.headers?.get('retry-after') ?? null, null);
  // max_completion_tokens is named as the client sent it; that many tokens are then admitted
  const e2 = await openai.chat.completions.create({ model: 'm', messages, max_completion_tokens: 5000 }).then(
    () => assert.fail('admitted'),
    (e: unknown) => e,
  );
  assert.ok(e2 instanceof OpenAI.BadRequestError && e2.param === 'max_completion_tokens', String(e2));
  const ok = await openai.chat.completions.create({ model: 'm', messages, max_tokens: 1000 - prompt });
  assert.ok(ok.choices[0]?.message.content);
  // a streaming client gets the same 400 before any byte of a stream
  const e3 = await openai.chat.completions
    .create({ model: 'm', messages, max_tokens: 5000, stream: true })
    .then(
      () => assert.fail('admitted'),
      (e: unknown) => e,
    );
  assert.ok(e3 instanceof OpenAI.BadRequestError, String(e3));
});

test('anthropic client: an over-limit max_tokens is invalid_request_error; a cost budget names the fitting max_tokens', async () => {
  const anthropic = new Anthropic({ apiKey: KEY, baseURL: door.base, maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: PROMPT }];
  const err = await anthropic.messages.create({ model: 'm', messages, max_tokens: 5000 }).then(
    () => assert.fail('admitted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof Anthropic.BadRequestError, String(err));
  assert.equal((err.error as { error: { type: string } }).error.type, 'invalid_request_error');
  assert.match(err.message, /max_tokens: .*tokens_per_minute.*the largest max_tokens that fits is \d+/);
  // cost_per_day_usd $0.001 at $1 / $2 per million: prompt P costs P µ$, each output token 2 µ$
  const prompt = countPromptTokens({ messages }, 'anthropic-messages');
  const e2 = await anthropic.messages.create({ model: 'priced', messages, max_tokens: 900 }).then(
    () => assert.fail('admitted'),
    (e: unknown) => e,
  );
  assert.ok(e2 instanceof Anthropic.BadRequestError, String(e2));
  const fit = Math.floor((1000 - prompt) / 2);
  assert.match(e2.message, /models\.priced\.cost_per_day_usd of consumer demo \(\$0\.001\)/);
  assert.match(e2.message, new RegExp(`the largest max_tokens that fits is ${fit}\\b`));
  const ok = await anthropic.messages.create({ model: 'priced', messages, max_tokens: fit });
  assert.equal(ok.type, 'message');
});
