/**
 * Issue 19's budget must-show end to end, through the front door: three gateways (each the real
 * gateway with the `llm` stage and its own RedisTokenLimiter) share one redis-server, a consumer
 * `demo` has 1,000 tokens per minute, and 50 concurrent streaming chat requests with max_tokens 200
 * are spread over them; a client refused with 429 tries again when one of its own streams ends.
 * The tokens llm-sim served in the minute stay ≤ 1,000 + 200. The same 50 streams through the same
 * gateways with the anchors' scheme (a limiter that checks the shared counter and adds the usage
 * after the response) are all admitted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createGateway } from '../../../src/gateway/gateway.js';
import { startLlmSim, type LlmSim } from '../../../src/llm-sim/index.js';
import { createLlmModels, createLlmStage, llmErrorBody } from '../../../src/llm/front-door/index.js';
import { stagesWithLlm } from '../../../src/app/llm-wiring.js';
import { RedisTokenLimiter } from '../../../src/cluster/redis-token-limiter.js';
import type { ReserveVerdict, TokenLimiter } from '../../../src/llm/budget/token-limiter.js';
import { startRedis, type TestRedis } from '../../cluster/redis-server.js';

const LIMIT = 1000;
const MAX_TOKENS = 200;
const N = 50;
const KEY = 'lsk_0123456789abcdef_test';

let server: TestRedis;
let sim: LlmSim;
const closers: Array<() => Promise<void> | void> = [];

before(async () => {
  server = await startRedis();
  sim = await startLlmSim({
    port: 0,
    timeScale: 0.02,
    maxNumSeqs: 64,
    models: ['m'],
    outputTokens: { min: 20, max: 120 },
  });
});

after(async () => {
  for (const c of closers.reverse()) await c();
  await sim.close();
  await server.stop();
});

async function connect(): Promise<Redis> {
  const r = new Redis(server.url, { maxRetriesPerRequest: 1 });
  closers.push(() => r.disconnect());
  await new Promise((resolve) => r.once('ready', resolve));
  return r;
}

/** A gateway with one AI service (model m on llm-sim) whose llm stage uses `limiter`. */
async function gateway(limiter: TokenLimiter): Promise<string> {
  const built = createLlmModels({
    m: {
      backends: [{ instances: { format: 'openai' } }],
      ttftMs: 10_000,
      interTokenMs: 10_000,
      maxTokensDefault: 64,
    },
  });
  const stage = createLlmStage({ services: new Map([['ai', { models: built.models }]]), limiter });
  const gw = createGateway({
    services: {
      ai: {
        routes: [{ path_prefix: '/' }],
        traffic: { max_body: 1 << 20 },
        instances: [{ id: 'sim', url: sim.url }],
        errorBody: llmErrorBody,
        auth: 'key',
      },
    },
    stages: stagesWithLlm(stage),
    keys: { verify: (k) => (k === KEY ? { consumer: 'demo', keyId: '0123456789abcdef' } : undefined) },
  });
  const addr = await gw.listen(0, '127.0.0.1');
  closers.push(async () => {
    await gw.close({ graceMs: 0 });
    await built.close();
  });
  return `http://127.0.0.1:${addr.port}`;
}

/** One streaming chat request; the status, Retry-After and the usage of the final chunk. */
async function chat(
  base: string,
  i: number,
  onAdmitted: () => void,
): Promise<{ status: number; headers: Headers; tokens: number }> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({
      model: 'm',
      messages: [{ role: 'user', content: `Request ${i}: tell me about token budgets.` }],
      max_tokens: MAX_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status === 200) onAdmitted();
  const text = await res.text();
  let tokens = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const u = (JSON.parse(line.slice(6)) as { usage?: { total_tokens: number } | null }).usage;
    if (u) tokens = u.total_tokens;
  }
  return { status: res.status, headers: res.headers, tokens };
}

/**
 * 50 concurrent clients over the gateways. A refused client waits for an admitted stream to end
 * (its settle gives tokens back) and tries again; when no admitted stream is running it gives up.
 */
async function run(bases: string[]): Promise<{ admitted: number; tokens: number; refused: number }> {
  let admitted = 0;
  let tokens = 0;
  let refused = 0;
  let streaming = 0;
  let wake: Array<() => void> = [];
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      for (;;) {
        const r = await chat(bases[i % bases.length]!, i, () => streaming++);
        if (r.status === 200) {
          admitted++;
          tokens += r.tokens;
          streaming--;
          const w = wake;
          wake = [];
          for (const f of w) f();
          return;
        }
        assert.equal(r.status, 429);
        assert.match(String(r.headers.get('ratelimit-policy')), /^1000;w=60;name="tokens_per_minute"$/);
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
        if (streaming === 0) {
          refused++;
          return;
        }
        await new Promise<void>((resolve) => wake.push(resolve));
      }
    }),
  );
  return { admitted, tokens, refused };
}

test('through the front door: 1,000 tokens/min, 50 concurrent streams over 3 gateways admit ≤ 1,000 + 200 tokens; charging after the response admits all 50', async () => {
  const consumers = { demo: { limits: { tokens_per_minute: LIMIT } } };
  // a slow reply on a loaded machine must not pass for an outage: every decision here is Redis's
  const limiters = await Promise.all(
    [0, 1, 2].map(
      async () =>
        new RedisTokenLimiter({
          redis: await connect(),
          prefix: 'e2e:',
          consumers,
          gateways: () => 3,
          timeoutMs: 10_000,
        }),
    ),
  );
  const bases = await Promise.all(limiters.map((l) => gateway(l)));
  const start = Date.now();
  const before = sim.stats().totals;
  const budget = await run(bases);
  const after = sim.stats().totals;
  assert.ok(Date.now() - start < 60_000, 'the run fits in one minute');
  for (const l of limiters) assert.equal(l.stats.fallback, 0, 'decided in Redis');
  const served = after.promptTokens + after.completionTokens - before.promptTokens - before.completionTokens;
  assert.equal(served, budget.tokens, 'llm-sim served exactly the admitted streams');
  assert.ok(budget.tokens <= LIMIT + MAX_TOKENS, `admitted ${budget.tokens} tokens`);
  assert.ok(budget.admitted > 4, 'settling gives back unused tokens');

  // The anchors' way, on the same gateways' code: check the shared counter, add usage when done.
  const post = await Promise.all(
    [0, 1, 2].map(async () => {
      const redis = await connect();
      const limiter: TokenLimiter = {
        async reserve(r): Promise<ReserveVerdict> {
          const used = Number((await redis.get('post:demo')) ?? 0);
          if (used >= LIMIT)
            return {
              ok: false,
              limit: 'tokens_per_minute',
              retryAfterS: 60,
              headers: { 'ratelimit-policy': '1000;w=60;name="tokens_per_minute"', 'retry-after': '60' },
            };
          return {
            ok: true,
            headers: {},
            reservation: {
              id: String(r.now),
              consumer: r.consumer,
              model: r.model,
              tokens: 0,
              costUsd: 0,
              charges: [],
              settled: false,
            },
          };
        },
        async settle(_res, actual) {
          await redis.incrby('post:demo', actual.tokens);
        },
      };
      return gateway(limiter);
    }),
  );
  const anchors = await run(post);
  assert.equal(anchors.admitted, N, 'every stream arrives before any response is charged');
  assert.ok(
    anchors.tokens > 3 * (LIMIT + MAX_TOKENS),
    `charging after the response admitted ${anchors.tokens} tokens`,
  );
  console.log(
    `# front door, reserve/settle: ${budget.admitted} of ${N} admitted, ${budget.tokens} tokens (limit ${LIMIT}); ` +
      `charge after response: ${anchors.admitted} admitted, ${anchors.tokens} tokens`,
  );
});
