/**
 * Issue 19's must-show for budgets, on the limiters themselves (the front door drives them the same
 * way): a consumer limited to 1,000 tokens per minute, 50 concurrent streaming requests with
 * max_tokens 200 spread over three gateways sharing one real redis-server. Each gateway reserves
 * prompt (counted with the tokenizer) + max_tokens before it streams from llm-sim, and settles to the
 * usage llm-sim reports. The tokens admitted in the minute stay ≤ 1,000 + 200. The same 50 streams
 * through the anchors' scheme (check the counter, add the real usage when the response is done)
 * all pass the check, since nothing has finished when they arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisTokenLimiter } from '../../../src/cluster/redis-token-limiter.js';
import { countPromptTokens } from '../../../src/llm/budget/count-prompt-tokens.js';
import { startLlmSim, type LlmSim } from '../../../src/llm-sim/index.js';
import { startRedis, type TestRedis } from '../../cluster/redis-server.js';

const LIMIT = 1000;
const MAX_TOKENS = 200;
const N = 50;

let server: TestRedis;
let sim: LlmSim;
const conns: Redis[] = [];

before(async () => {
  server = await startRedis();
  sim = await startLlmSim({ port: 0, timeScale: 0.02, maxNumSeqs: 64, outputTokens: { min: 20, max: 120 } });
});

after(async () => {
  for (const c of conns) c.disconnect();
  await sim.close();
  await server.stop();
});

async function connect(): Promise<Redis> {
  const r = new Redis(server.url, { maxRetriesPerRequest: 1 });
  conns.push(r);
  await new Promise((resolve) => r.once('ready', resolve));
  return r;
}

const bodyOf = (i: number) => ({
  model: 'llm-sim',
  messages: [{ role: 'user', content: `Request ${i}: tell me about token budgets.` }],
  max_tokens: MAX_TOKENS,
  stream: true,
  stream_options: { include_usage: true },
});

/** Streams one completion from llm-sim; resolves to the usage in its final chunk. */
async function stream(body: object): Promise<{ prompt: number; completion: number }> {
  const res = await fetch(`${sim.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { usage?: typeof usage | null };
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(usage, 'the stream ends with a usage chunk');
  return { prompt: usage.prompt_tokens, completion: usage.completion_tokens };
}

test('1,000 tokens/min, 50 concurrent streams over 3 gateways: admitted ≤ 1,000 + 200; charging after the response admits all 50', async () => {
  const consumers = { demo: { limits: { tokens_per_minute: LIMIT } } };
  const gateways = await Promise.all(
    [0, 1, 2].map(
      async () =>
        // a slow reply on a loaded machine must not pass for an outage (the local fallback is
        // tested in redis-token-limiter.test.ts): every decision here is Redis's
        new RedisTokenLimiter({
          redis: await connect(),
          prefix: 'must-show:',
          consumers,
          gateways: () => 3,
          timeoutMs: 10_000,
        }),
    ),
  );
  const start = Date.now();
  let admitted = 0;
  let admittedTokens = 0;
  let denied = 0;
  let inflight = 0;
  // A denied client tries again whenever a stream ends and settles (giving back what it did not
  // use), until none is left running: the budget fills up to the limit, not just to 4 × 220.
  let wake: Array<() => void> = [];
  const settled = () => new Promise<void>((resolve) => wake.push(resolve));
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const body = bodyOf(i);
      const prompt = countPromptTokens(body, 'openai-chat');
      const limiter = gateways[i % 3]!;
      for (;;) {
        const now = Date.now();
        const v = await limiter.reserve({
          consumer: 'demo',
          model: 'llm-sim',
          tokens: prompt + MAX_TOKENS,
          now,
        });
        if (v.ok) {
          admitted++;
          inflight++;
          const u = await stream(body);
          assert.equal(u.prompt, prompt, 'the tokenizer counts the prompt as llm-sim does');
          assert.ok(u.completion <= MAX_TOKENS);
          admittedTokens += u.prompt + u.completion;
          await limiter.settle(v.reservation, {
            tokens: u.prompt + u.completion,
            costUsd: 0,
            now: Date.now(),
          });
          inflight--;
          const w = wake;
          wake = [];
          for (const f of w) f();
          return;
        }
        assert.equal(v.limit, 'tokens_per_minute');
        assert.equal(v.headers['retry-after'], String(v.retryAfterS));
        if (inflight === 0) {
          denied++;
          return;
        }
        await settled();
      }
    }),
  );
  assert.ok(Date.now() - start < 60_000, 'the whole run fits in one minute');
  for (const g of gateways) assert.equal(g.stats.fallback, 0, 'decided in Redis');
  assert.equal(admitted + denied, N);
  assert.ok(admitted > 4, 'settling gives back unused tokens: more than 4 × 220 requests fit');
  assert.ok(admittedTokens <= LIMIT + MAX_TOKENS, `admitted ${admittedTokens} tokens`);

  // The anchors' way (Envoy AI Gateway, APISIX, Kong, LiteLLM): admit while the counter, shared in
  // the same Redis, is under the limit; add the real usage when the response is done.
  const post = await Promise.all([0, 1, 2].map(() => connect()));
  const counter = 'post-charge:demo';
  let postAdmitted = 0;
  let postTokens = 0;
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const redis = post[i % 3]!;
      if (Number((await redis.get(counter)) ?? 0) >= LIMIT) return;
      postAdmitted++;
      const u = await stream(bodyOf(i));
      postTokens += u.prompt + u.completion;
      await redis.incrby(counter, u.prompt + u.completion);
    }),
  );
  assert.equal(postAdmitted, N, 'every request arrives before any response has been charged');
  assert.ok(
    postTokens > 3 * (LIMIT + MAX_TOKENS),
    `charging after the response admitted ${postTokens} tokens`,
  );
  console.log(
    `# reserve/settle: ${admitted} of ${N} admitted, ${admittedTokens} tokens (limit ${LIMIT}); ` +
      `charge after response: ${postAdmitted} admitted, ${postTokens} tokens`,
  );
});
