/**
 * Token-trace replay: the requests of a `t,context_tokens,generated_tokens` trace meet simulated
 * model servers (engine-replica.ts, llm-sim's timing) behind the `llm` router (engine-fleet.ts),
 * and the real decision core (`decide`, the real built-ins or the real Lua sandbox) sizes the
 * fleet every decision interval, on a simulated clock (docs/simulator.md, "Token traces").
 *
 * One simulated second t:
 *   1. replicas whose startup is over become ready and take the gateway's queue;
 *   2. the second's requests arrive at their own millisecond and are routed;
 *   3. every replica runs to the second's end; its signals are recorded (history, window);
 *   4. at the end of every interval `decide()` runs and the fleet launches or drains replicas.
 * The run lasts the trace plus the queue timeout, so every request is served or dropped.
 */
import { decide } from '../controller/decide.js';
import { initialDecisionState, type DecisionState, type ScalingSpec } from '../controller/decision.js';
import { completeObservation, type HistoryReader, type Observation, type Slo } from '../policy/policy.js';
import { HISTORY_SIGNALS, writeHistoryValues } from '../signals/index.js';
import { interTokenMs, prefillMs } from '../llm-sim/timing-model.js';
import { DecisionTally } from './decision-tally.js';
import { EngineFleet } from './engine-fleet.js';
import type { EngineProfile, EngineRequest } from './engine-replica.js';
import { emptySecondSignals } from './signal-window.js';
import { measureSecond, seriesCollector } from './token-measure.js';
import { RunHistory } from './run-history.js';
import type { ModelParams, SimulatedPolicy, SimulationResult, SimulationSummary } from './simulate.js';
import { expandTokenTrace, type TokenTrace } from './token-trace.js';
import {
  quantileSorted,
  TokenWindow,
  ttftQuantiles,
  ttftViolationSeconds,
  type TokenWindowRead,
} from './token-stats.js';

/**
 * The default engine: llm-sim's latencies (a 7–8B model on one H100, llm-d-inference-sim's
 * profiles: prefill 30 ms + 0.2 ms per token, 12 ms per output token) with limits sized for the
 * shared code trace (contexts up to 7,437 tokens): 16 seats at twice the per-token time when full,
 * 4,096 blocks of 16 tokens (65,536 tokens of KV cache), llm-d's 1,000-request queue.
 */
export const DEFAULT_ENGINE_PROFILE: Readonly<EngineProfile> = Object.freeze({
  prefillOverheadMs: 30,
  prefillPerTokenMs: 0.2,
  ttftMs: 0,
  ttftStdDevMs: 0,
  itlMs: 12,
  itlStdDevMs: 0,
  timeFactorUnderLoad: 2,
  maxNumSeqs: 16,
  maxWaiting: 1000,
  kvBlocks: 4096,
  blockSize: 16,
  maxModelLen: 16_384,
});

/** The TTFT objective of a token replay when none is given (`--ttft-slo-ms`; in model-defaults.ts). */
export { DEFAULT_TTFT_SLO_MS } from './model-defaults.js';

/** A token replay's own figures, beside the request-trace summary's. */
export interface TokenSummaryFields {
  /** Billed replica-hours (the same as instance_hours). */
  replica_hours: number;
  ttft_p50_ms: number;
  ttft_p95_ms: number;
  ttft_p99_ms: number;
  ttft_slo_ms: number;
  ttft_slo_violation_seconds: number;
  /** Prompt + output tokens of the requests that completed. */
  tokens_served: number;
  tokens_in: number;
  tokens_out: number;
  requests_dropped: number;
}

/** The summary of a token replay: every request-trace field plus the token ones. */
export type TokenSimulationSummary = SimulationSummary & TokenSummaryFields;

/** What a token replay needs. */
export interface TokenSimulateOptions {
  trace: TokenTrace;
  /** Each request stands for `scale` requests (token-trace.ts). Default 1. */
  scale?: number;
  /** Seed of the scaled copies' offsets. Default 0. */
  seed?: number;
  profile?: Partial<EngineProfile>;
  startupS: number;
  queueTimeoutS: number;
  ttftSloMs: number;
  policy: SimulatedPolicy;
  /** Ready replicas at t = 0. Default: min (at least 1). */
  initial?: number;
  slo?: Slo;
  startMs?: number;
  /** Points per chart series; 0: none. Default 1500. */
  seriesPoints?: number;
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
  onDecision?: SimulateDecisionHook;
}

/** Called after every decision. */
export type SimulateDecisionHook = (decision: ReturnType<typeof decide>['decision'], second: number) => void;

/** Runs one policy over a token trace. Synchronous: the policy is already loaded. */
export function simulateTokens(
  o: TokenSimulateOptions,
): SimulationResult & { summary: TokenSimulationSummary } {
  const profile: EngineProfile = { ...DEFAULT_ENGINE_PROFILE, ...o.profile };
  validateProfile(profile);
  const sp = o.policy;
  const startMs = o.startMs ?? 0;
  const intervalS = Math.max(1, Math.round(sp.intervalMs / 1000));
  const reqs = expandTokenTrace(o.trace, { scale: o.scale, seed: o.seed });
  const n = reqs.atMs.length;
  const ttft = new Float64Array(n).fill(Infinity);
  const total = Math.ceil(o.trace.durationSeconds + o.queueTimeoutS) + 1;
  let dropped = 0;
  let droppedSecond = 0;
  let tokensIn = 0;
  let tokensOut = 0;
  let secondTtfts: number[] = [];
  const fl = new EngineFleet({
    profile,
    startupS: o.startupS,
    queueTimeoutS: o.queueTimeoutS,
    initial: clamp(o.initial ?? Math.max(1, sp.min), sp.min, sp.max),
    sink: {
      firstToken(req, t) {
        ttft[req.id] = t - req.at;
        secondTtfts.push(t - req.at);
      },
      drop(req) {
        ttft[req.id] = Number.NaN;
        dropped++;
        droppedSecond++;
      },
      done(req) {
        tokensIn += req.contextTokens;
        tokensOut += req.generatedTokens;
      },
    },
  });
  const history = new RunHistory(HISTORY_SIGNALS, Math.max(3600, total));
  const reader: HistoryReader = { stepSeconds: 1, series: (m, s, now) => history.series(m, s, now) };
  const spec: ScalingSpec = {
    service: 'simulated',
    min: sp.min,
    max: sp.max,
    intervalMs: intervalS * 1000,
    behavior: sp.behavior,
    policy: sp.policy,
    params: sp.params,
  };
  const slo: Slo = { ...o.slo, ttft_p95_ms: o.slo?.ttft_p95_ms ?? o.ttftSloMs } as Slo;
  const window = new TokenWindow(Math.max(1, Math.round((sp.windowMs ?? 2000) / 1000)));
  const tally = new DecisionTally();
  const row = new Float64Array(HISTORY_SIGNALS.length);
  const histSignals = emptySecondSignals() as unknown as Record<string, unknown>;
  let state: DecisionState = initialDecisionState();
  let desired = fl.ready.length;
  // Work of the trace (base ms of seat time at load factor 1): for the ideal fleet and the nominal capacity.
  const seatMsPerMs = profile.maxNumSeqs / Math.max(1, profile.timeFactorUnderLoad);
  let workMs = 0;
  for (let i = 0; i < n; i++) workMs += requestWorkMs(profile, reqs.context[i]!, reqs.generated[i]!);
  const meanWorkMs = n > 0 ? workMs / n : 1;

  let instanceSeconds = 0;
  let readySeconds = 0;
  let busySeats = 0;
  let scaleActions = 0;
  let maxReplicas = fl.ready.length;
  let decisions = 0;
  let policyErrors = 0;
  let idealSeconds = 0;
  let under = 0;
  let over = 0;
  let underTime = 0;
  let overTime = 0;
  const series = seriesCollector(total, o.seriesPoints ?? 1500);
  const progressEvery = Math.max(1, Math.floor(total / 100));
  let next = 0;

  for (let t = 0; t < total; t++) {
    fl.promote(t);
    const endMs = (t + 1) * 1000;
    let offered = 0;
    let secondWork = 0;
    while (next < n && reqs.atMs[next]! < endMs) {
      const req: EngineRequest = {
        id: next,
        at: reqs.atMs[next]!,
        contextTokens: reqs.context[next]!,
        generatedTokens: reqs.generated[next]!,
      };
      secondWork += requestWorkMs(profile, req.contextTokens, req.generatedTokens);
      fl.route(req, req.at);
      offered++;
      next++;
    }
    fl.advance(endMs);
    const second = measureSecond(fl, profile, endMs);
    second.offered = offered;
    second.dropped = droppedSecond;
    second.ttfts = secondTtfts;
    secondTtfts = [];
    droppedSecond = 0;
    window.push(second);

    const ready = fl.ready.length;
    const starting = fl.starting;
    const billed = ready + starting + fl.draining.length;
    instanceSeconds += billed;
    readySeconds += ready;
    busySeats += second.running;
    if (ready + starting > maxReplicas) maxReplicas = ready + starting;
    const demand = Math.ceil(secondWork / (seatMsPerMs * 1000) - 1e-9);
    idealSeconds += demand;
    if (demand > ready) {
      under += (demand - ready) / Math.max(demand, 1);
      underTime++;
    } else if (ready > demand) {
      over += (ready - demand) / Math.max(demand, 1);
      overTime++;
    }
    const hs = histSignals;
    Object.assign(hs, { cpu: second.cpu, rps: offered, inflight: second.running + second.waiting });
    Object.assign(hs, { queue: second.gatewayQueue, shed_rps: second.dropped, replicas: ready + starting });
    Object.assign(hs, {
      ready,
      starting,
      error_rate: offered > 0 ? Math.min(1, second.dropped / offered) : 0,
    });
    const lat = latencyOf(second.ttfts);
    hs.latency = lat;
    // A second without a first token has no TTFT (NaN in the history, nil in Lua), not 0 ms.
    const ttftSecond = second.ttfts.length > 0 ? lat : { p50: Number.NaN, p95: Number.NaN };
    hs.llm = llmSignals(second, ttftSecond, second.tokensIn, second.tokensOut);
    writeHistoryValues(hs, row);
    history.append(Math.floor(startMs / 1000) + t + 1, row, 1);
    series?.add({ offered, ready, billed, desired, p95: lat.p95, dropped: second.dropped });

    if ((t + 1) % intervalS === 0) {
      const w = window.read();
      const observation = observe(w, {
        ready,
        starting,
        draining: fl.draining.length,
        slo,
        startupS: o.startupS,
      });
      const result = decide(spec, { observation, history: reader, state, now: startMs + (t + 1) * 1000 });
      state = result.state;
      decisions++;
      if (!result.decision.policy.outcome.ok) policyErrors++;
      tally.add(result.decision, t);
      desired = result.decision.replicas;
      if (desired !== ready + starting) {
        scaleActions++;
        fl.scaleTo(desired, t);
      }
      o.onDecision?.(result.decision, t);
    }
    if ((t + 1) % progressEvery === 0) o.onProgress?.(t + 1, total);
  }

  const q = ttftQuantiles(ttft);
  const violations = ttftViolationSeconds(reqs.atMs, ttft, o.ttftSloMs);
  const T = Math.max(1, total);
  const capacityRps = (seatMsPerMs * 1000) / meanWorkMs;
  const summary: TokenSimulationSummary = {
    policy: sp.label,
    instance_seconds: instanceSeconds,
    instance_hours: round(instanceSeconds / 3600, 4),
    slo_violation_seconds: violations,
    dropped_requests: dropped,
    total_requests: n,
    p95_ms: q.p95,
    scale_actions: scaleActions,
    max_replicas: maxReplicas,
    mean_utilization: readySeconds > 0 ? round(busySeats / (readySeconds * profile.maxNumSeqs), 4) : 0,
    ideal_instance_hours: round(idealSeconds / 3600, 4),
    under_provisioning_accuracy: round((100 * under) / T, 3),
    over_provisioning_accuracy: round((100 * over) / T, 3),
    under_provisioning_timeshare: round((100 * underTime) / T, 3),
    over_provisioning_timeshare: round((100 * overTime) / T, 3),
    seconds: total,
    decisions,
    policy_errors: policyErrors,
    replica_hours: round(instanceSeconds / 3600, 4),
    ttft_p50_ms: q.p50,
    ttft_p95_ms: q.p95,
    ttft_p99_ms: q.p99,
    ttft_slo_ms: o.ttftSloMs,
    ttft_slo_violation_seconds: violations,
    tokens_served: tokensIn + tokensOut,
    tokens_in: tokensIn,
    tokens_out: tokensOut,
    requests_dropped: dropped,
  };
  const model: ModelParams = {
    capacity: round(capacityRps, 3),
    serviceMs: round(meanWorkMs, 1),
    startupS: o.startupS,
    queueTimeoutS: o.queueTimeoutS,
    sloP95Ms: o.ttftSloMs,
    drainS: 0,
  };
  return {
    summary,
    series: series?.done(capacityRps) ?? null,
    model,
    warnings: [],
    explanation: tally.explanation(),
  };
}

/** Seat time of one request at load factor 1 (ms): its prefill plus (output − 1) token gaps. */
export function requestWorkMs(p: EngineProfile, context: number, generated: number): number {
  const prefill = prefillMs({ promptTokens: context, cachedTokens: 0, running: 1 }, p);
  return prefill + Math.max(0, generated - 1) * interTokenMs(1, p);
}

function latencyOf(ttfts: number[]): { p50: number; p95: number; p99: number } {
  if (ttfts.length === 0) return { p50: 0, p95: 0, p99: 0 };
  const s = [...ttfts].sort((a, b) => a - b);
  return { p50: quantileSorted(s, 0.5), p95: quantileSorted(s, 0.95), p99: quantileSorted(s, 0.99) };
}

/** The `llm.*` signals, nested as the catalogue names them (`llm.ttft.p95` is llm.ttft.p95). */
function llmSignals(
  w: Pick<TokenWindowRead, 'waiting' | 'running' | 'kvUtil' | 'itlP50' | 'itlP95' | 'inflightTokens'>,
  ttft: { p50: number; p95: number },
  tokensInRps: number,
  tokensOutRps: number,
): Record<string, unknown> {
  return {
    waiting: w.waiting,
    running: w.running,
    kv_util: w.kvUtil,
    ttft: { p50: ttft.p50, p95: ttft.p95 },
    itl: { p50: w.itlP50, p95: w.itlP95 },
    tokens_in_rps: tokensInRps,
    tokens_out_rps: tokensOutRps,
    inflight_tokens: w.inflightTokens,
    // The trace carries no prompt text, so no prefix can be recognised: unknown, not 0.
    prefix_hit_rate: undefined,
  };
}

/** The Observation of one decision: the window's averages, the fleet's counts, the llm signals. */
function observe(
  w: TokenWindowRead,
  f: { ready: number; starting: number; draining: number; slo: Slo; startupS: number },
): Observation {
  const lat = {
    p50: nanTo0(w.ttft.p50),
    p95: nanTo0(w.ttft.p95),
    p99: nanTo0(w.ttft.p99),
  };
  const obs = completeObservation({
    rps: w.rps,
    cpu: w.cpu,
    memory: undefined,
    inflight: w.running + w.waiting,
    queue: w.gatewayQueue,
    shed_rps: w.shedRps,
    error_rate: w.rps > 0 ? Math.min(1, w.shedRps / w.rps) : 0,
    latency: lat,
    replicas: f.ready + f.starting,
    ready: f.ready,
    starting: f.starting,
    draining: f.draining,
    slo: f.slo,
    startup_s: f.startupS,
    fresh: true,
  });
  // A window without a first token has no TTFT (nil), not 0 ms.
  const ttft = { p50: w.ttft.p50, p95: w.ttft.p95 };
  const llm = llmSignals(w, ttft, w.tokensInRps, w.tokensOutRps);
  for (const [k, v] of Object.entries(llm)) if (typeof v === 'number' && Number.isNaN(v)) delete llm[k];
  for (const k of ['ttft', 'itl'] as const) {
    const inner = llm[k] as Record<string, number>;
    for (const [ik, iv] of Object.entries(inner)) if (Number.isNaN(iv)) delete inner[ik];
  }
  (obs as unknown as Record<string, unknown>).llm = llm;
  return obs;
}

/** Checks an engine profile; a bad value is a RangeError the CLI turns into one line. */
export function validateProfile(p: EngineProfile): void {
  const positive = [
    'itlMs',
    'maxNumSeqs',
    'maxWaiting',
    'kvBlocks',
    'blockSize',
    'maxModelLen',
    'timeFactorUnderLoad',
  ] as const;
  for (const k of positive)
    if (!(Number.isFinite(p[k]) && p[k] > 0)) throw new RangeError(`${k} must be > 0, got ${p[k]}`);
  for (const k of ['prefillOverheadMs', 'prefillPerTokenMs', 'ttftMs'] as const)
    if (!(Number.isFinite(p[k]) && p[k] >= 0)) throw new RangeError(`${k} must be >= 0, got ${p[k]}`);
  if (p.timeFactorUnderLoad < 1)
    throw new RangeError(`timeFactorUnderLoad must be >= 1, got ${p.timeFactorUnderLoad}`);
}

function nanTo0(x: number): number {
  return Number.isNaN(x) ? 0 : x;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
