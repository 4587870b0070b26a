/**
 * `npm run bench llm-routing`: the llm balancer against round robin on a workload where groups of
 * requests share long prompt prefixes (a system prompt or a document per tenant), against 4 llm-sim
 * instances (library API, --time-scale for speed). Both arms replay the same seeded requests at the
 * same concurrency on fresh instances. The prefix hit rate is read from llm-sim's own /metrics
 * (vLLM's prefix_cache_hits / queries, through the engine mapping), TTFT from llm-sim's records.
 * The balancer is driven directly with the pick contract the gateway's pick stage uses (the prompt's
 * block chain in the pick context; in-flight counted per endpoint as the pool does), with the engine
 * scraper feeding it every 100 ms (1 s of model time). Then the scoring cost per request at 16
 * instances (a prefix-index match and the scores, with the chain precomputed from token ids as the
 * front door passes them, and separately the chain's hashing).
 */
import type { Emit } from './run.js';
import { startLlmSim, encodeText, type LlmSim } from '../src/llm-sim/index.js';
import { createBalancer, type Balancer, type Endpoint } from '../src/gateway/balancer.js';
import { createLlmBalancer } from '../src/llm/routing/llm-balancer.js';
import { LlmInstanceStates } from '../src/llm/routing/llm-instance-states.js';
import { prefixChain } from '../src/llm/routing/prefix-index.js';
import { createEngineScraper } from '../src/llm/engines/engine-scraper.js';
import { readEngine } from '../src/llm/engines/engine-metrics.js';

const INSTANCES = 4;
const GROUPS = 16;
const PREFIX_WORDS = 900; // about 1 000 tokens
const REQUESTS = 480;
const CONCURRENCY = 8;
const TIME_SCALE = 0.1;

/** mulberry32: the same request sequence for both arms. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'alpha beta gamma delta river stone cloud metric token cache block queue model server route prefix'.split(
    ' ',
  );
function words(random: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
}

function workload(): { group: number; prompt: string }[] {
  const random = seeded(42);
  const prefixes = Array.from(
    { length: GROUPS },
    (_, g) => `Tenant ${g} instructions: ${words(random, PREFIX_WORDS)}\n`,
  );
  return Array.from({ length: REQUESTS }, () => {
    const group = Math.floor(random() * GROUPS);
    return { group, prompt: `${prefixes[group]}Question: ${words(random, 24)}?` };
  });
}

function startSims(): Promise<LlmSim[]> {
  return Promise.all(
    Array.from({ length: INSTANCES }, (_, i) =>
      startLlmSim({
        port: 0,
        seed: i + 1,
        timeScale: TIME_SCALE,
        maxModelLen: 4096,
        // room for four groups' prefixes and the running sequences, not for all sixteen
        kvBlocks: 320,
        maxNumSeqs: 4,
        outputTokens: { min: 8, max: 16 },
      }),
    ),
  );
}

interface ArmResult {
  hitRate: number;
  ttftP50: number;
  ttftP95: number;
  seconds: number;
}

async function runArm(kind: 'llm' | 'round-robin', reqs: { prompt: string }[]): Promise<ArmResult> {
  const sims = await startSims();
  const eps: Endpoint[] = sims.map((_, i) => ({ id: `i${i}`, inflight: 0, ewmaMs: 0, ewmaAt: 0, weight: 1 }));
  const targets = sims.map((s, i) => ({ id: `i${i}`, url: s.url }));
  const states = new LlmInstanceStates({ maxAgeMs: 500 });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const scraper = createEngineScraper({ engine: 'vllm', states, now, timeoutMs: 200 });
  const balancer: Balancer =
    kind === 'llm' ? createLlmBalancer({ states }) : createBalancer({ algorithm: 'round-robin' });
  balancer.update(eps);
  let scraping = true;
  const scrapeLoop = (async () => {
    while (scraping) {
      await scraper.scrape(targets);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < reqs.length) {
      const r = reqs[next++]!;
      const chain = kind === 'llm' ? prefixChain(encodeText(r.prompt)) : undefined;
      const ep = balancer.pick(eps, { now: now(), prefix: chain })!;
      const sim = sims[eps.indexOf(ep)]!;
      ep.inflight++;
      try {
        const res = await fetch(`${sim.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'llm-sim', prompt: r.prompt, max_tokens: 16 }),
        });
        await res.text();
        if (res.status !== 200) throw new Error(`llm-sim answered ${res.status}`);
      } finally {
        ep.inflight--;
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - t0) / 1000;
  scraping = false;
  await scrapeLoop;
  let hits = 0;
  let queries = 0;
  const ttfts: number[] = [];
  for (const s of sims) {
    const reading = readEngine('vllm', await s.metrics(), 0);
    hits += reading.prefixHits ?? 0;
    queries += reading.prefixQueries ?? 0;
    for (const rec of s.stats().requests) if (rec.ttftMs !== null) ttfts.push(rec.ttftMs / TIME_SCALE);
  }
  await Promise.all(sims.map((s) => s.close()));
  ttfts.sort((a, b) => a - b);
  const at = (q: number) => ttfts[Math.min(ttfts.length - 1, Math.floor(q * ttfts.length))]!;
  return { hitRate: hits / queries, ttftP50: at(0.5), ttftP95: at(0.95), seconds };
}

/** µs per pick at 16 instances with engine state and a warm prefix index; and per chain hashing. */
function scoringCost(): { pickUs: number; chainUs: number } {
  const states = new LlmInstanceStates({ maxAgeMs: Infinity });
  const b = createLlmBalancer({ states });
  const eps: Endpoint[] = Array.from({ length: 16 }, (_, i) => ({
    id: `i${i}`,
    inflight: i % 3,
    ewmaMs: 0,
    ewmaAt: 0,
    weight: 1,
  }));
  for (const ep of eps)
    states.update(ep.id, { waiting: ep.inflight, running: 4, kvUtil: 0.3 + ep.inflight / 10 }, 0);
  b.update(eps);
  const tokenLists = workload()
    .slice(0, 64)
    .map((r) => encodeText(r.prompt));
  const chains = tokenLists.map((t) => prefixChain(t));
  const n = 50_000;
  for (let i = 0; i < 2000; i++) b.pick(eps, { now: 0, prefix: chains[i % chains.length] });
  let t = process.cpuUsage();
  for (let i = 0; i < n; i++) b.pick(eps, { now: 0, prefix: chains[i % chains.length] });
  let used = process.cpuUsage(t);
  const pickUs = (used.user + used.system) / n;
  const m = 5000;
  t = process.cpuUsage();
  for (let i = 0; i < m; i++) prefixChain(tokenLists[i % tokenLists.length]!);
  used = process.cpuUsage(t);
  return { pickUs, chainUs: (used.user + used.system) / m };
}

export default async function run(emit: Emit): Promise<void> {
  const reqs = workload();
  const rr = await runArm('round-robin', reqs);
  const llm = await runArm('llm', reqs);
  const setup = `${INSTANCES} llm-sim, ${GROUPS} groups × ~1k-token prefix, ${REQUESTS} requests, concurrency ${CONCURRENCY}, time-scale ${TIME_SCALE}`;
  emit({
    name: 'llm-routing prefix hit rate',
    value: round(llm.hitRate, 3),
    unit: 'ratio',
    round_robin: round(rr.hitRate, 3),
    gain: round(llm.hitRate / rr.hitRate, 2),
    goal: '>= 2x',
    setup,
  });
  emit({
    name: 'llm-routing TTFT p50',
    value: round(llm.ttftP50, 1),
    unit: 'model ms',
    round_robin: round(rr.ttftP50, 1),
    gain: round(rr.ttftP50 / llm.ttftP50, 2),
    goal: '>= 1.5x',
    p95: round(llm.ttftP95, 1),
    round_robin_p95: round(rr.ttftP95, 1),
    seconds: round(llm.seconds, 2),
    round_robin_seconds: round(rr.seconds, 2),
  });
  const cost = scoringCost();
  emit({
    name: 'llm-routing scoring cost, 16 instances',
    value: round(cost.pickUs, 2),
    unit: 'µs/request',
    goal: '< 100',
    chain_from_token_ids_us: round(cost.chainUs, 2),
  });
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
