/**
 * The `llm` balancer: model-server routing as the llm-d router (EPP) does it, in three steps.
 *
 * 1. Filter: an instance whose engine reports a queue ≥ `queue_threshold` (5) or KV-cache use ≥
 *    `kv_threshold` (0.8) is saturated (the EPP saturation detector's and llm-d WVA's defaults) and
 *    takes no new request while another is not. When every instance is saturated, `saturated()`
 *    says so and the gateway holds requests in its admission queue instead of piling them on.
 * 2. Score each remaining instance in [0, 1] per scorer, as the EPP's scorers normalise:
 *    - queue: `(max − q) / (max − min)` over the candidates, q = the engine's waiting requests
 *      (last scrape) + the gateway's in-flight requests there (live, so a burst between two
 *      scrapes spreads out);
 *    - kv: `1 − kv_util` (unknown: 0.5, no preference);
 *    - tokens: `1 − min(1, in-flight tokens / token_capacity)` (EPP token-load, 4 Mi default);
 *    - prefix: matched blocks / prompt blocks (prefix-index.ts).
 * 3. Pick the highest weighted sum (weights: prefix 2, queue 1, kv 1, tokens 1, as the EPP's
 *    precise-prefix sample config); ties rotate, so equal instances share the load.
 *
 * Engine values come from `LlmInstanceStates` and are used only while fresh: a stale or missing
 * scrape makes an instance's queue and KV unknown (never 0 and never saturated by guess).
 */
import type { Balancer, Endpoint, PickContext } from '../../gateway/balancer.js';
import type { LlmInstanceStates } from './llm-instance-states.js';
import { PrefixIndex } from './prefix-index.js';
import { promptPrefixOf } from './prompt-prefixes.js';

/** Routing settings of an AI service (`llm.routing` in the config). */
export interface LlmRoutingOptions {
  /** Engine queue length at which an instance counts as saturated (default 5). */
  queue_threshold?: number;
  /** KV-cache use, 0..1, at which an instance counts as saturated (default 0.8). */
  kv_threshold?: number;
  weights?: { queue?: number; kv?: number; tokens?: number; prefix?: number };
  /** In-flight tokens at which the token score reaches 0 (default 4 Mi, the EPP's). */
  token_capacity?: number;
  /** Prompt blocks the prefix index remembers (default 65 536, about 1 Mi tokens of prefixes). */
  prefix_capacity?: number;
}

/** The llm balancer: a Balancer plus the saturation gate and its prefix index. */
export interface LlmBalancer extends Balancer {
  /** Whether every endpoint is saturated at `now` (false for an empty list). */
  saturated(endpoints: readonly Pick<Endpoint, 'id'>[], now: number): boolean;
  readonly prefixes: PrefixIndex;
}

const DEFAULT_WEIGHTS = { queue: 1, kv: 1, tokens: 1, prefix: 2 };

/** Creates an llm balancer reading engine state from `states`. */
export function createLlmBalancer(options: {
  states: LlmInstanceStates;
  routing?: LlmRoutingOptions;
}): LlmBalancer {
  const { states } = options;
  const r = options.routing ?? {};
  const qMax = r.queue_threshold ?? 5;
  const kvMax = r.kv_threshold ?? 0.8;
  const w = { ...DEFAULT_WEIGHTS, ...r.weights };
  const tokenCap = r.token_capacity ?? 4 * 1024 * 1024;
  const prefixes = new PrefixIndex({ capacity: r.prefix_capacity });
  const matches = new Map<string, number>();
  // scratch arrays reused across picks: the hot path allocates nothing per request
  let cand: Endpoint[] = [];
  let load: number[] = [];
  let turn = 0;

  function isSaturated(ep: Pick<Endpoint, 'id'>, now: number): boolean {
    const s = states.signals(ep.id, now);
    if (s === undefined) return false;
    return (s.waiting !== undefined && s.waiting >= qMax) || (s.kvUtil !== undefined && s.kvUtil >= kvMax);
  }

  function saturated(endpoints: readonly Pick<Endpoint, 'id'>[], now: number): boolean {
    if (endpoints.length === 0) return false;
    for (const ep of endpoints) if (!isSaturated(ep, now)) return false;
    return true;
  }

  function pick(endpoints: readonly Endpoint[], ctx: PickContext, exclude?: Endpoint): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    if (n === 1) return endpoints[0];
    const now = ctx.now;
    cand.length = 0;
    for (const ep of endpoints) if (ep !== exclude && !isSaturated(ep, now)) cand.push(ep);
    // all saturated (admission should have held the request) or only the excluded one left
    if (cand.length === 0) for (const ep of endpoints) if (ep !== exclude) cand.push(ep);
    const chain = ctx.prefix ?? promptPrefixOf(ctx.request);
    const blocks = chain === undefined ? 0 : chain.length;
    if (blocks > 0 && w.prefix !== 0) prefixes.match(chain!, matches);
    else matches.clear();
    let lo = Infinity;
    let hi = -Infinity;
    load.length = cand.length;
    for (let i = 0; i < cand.length; i++) {
      const ep = cand[i]!;
      const q = (states.signals(ep.id, now)?.waiting ?? 0) + ep.inflight;
      load[i] = q;
      if (q < lo) lo = q;
      if (q > hi) hi = q;
    }
    const start = turn++ % cand.length;
    if (turn >= 0x3fffffff) turn = 0;
    let best: Endpoint | undefined;
    let bestScore = -Infinity;
    for (let k = 0; k < cand.length; k++) {
      const i = (start + k) % cand.length;
      const ep = cand[i]!;
      const s = states.signals(ep.id, now);
      const queueScore = hi === lo ? 1 : (hi - load[i]!) / (hi - lo);
      const kvScore = s?.kvUtil === undefined ? 0.5 : 1 - Math.min(1, s.kvUtil);
      const tokenScore = 1 - Math.min(1, states.inflightTokens(ep.id) / tokenCap);
      const prefixScore = blocks === 0 ? 0 : (matches.get(ep.id) ?? 0) / blocks;
      // slow start: a new instance's score is scaled by its ramp weight
      const score =
        (w.queue * queueScore + w.kv * kvScore + w.tokens * tokenScore + w.prefix * prefixScore) * ep.weight;
      if (score > bestScore) {
        bestScore = score;
        best = ep;
      }
    }
    if (best !== undefined && blocks > 0) prefixes.record(chain!, best.id);
    return best;
  }

  let members = new Set<string>();
  function update(endpoints: readonly Endpoint[]): void {
    // release the scratch arrays' references to removed endpoints
    if (endpoints.length < cand.length) {
      cand = [];
      load = [];
    }
    // an instance that left the pool attracts no more prompts (and its engine values go)
    const now = new Set(endpoints.map((e) => e.id));
    for (const id of members)
      if (!now.has(id)) {
        prefixes.forget(id);
        states.forget(id);
      }
    members = now;
  }

  return { pick, update, saturated, prefixes };
}
