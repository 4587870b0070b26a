/**
 * The simulation loop: replays a trace second by second through the queue model and the fleet,
 * and asks the real decision core (`decide`, with the real built-ins or the real Lua sandbox) for
 * a replica count every decision interval, on a simulated clock.
 *
 * One simulated second t (time in ms is startMs + t·1000):
 *   1. instances whose startup is over become ready, drained ones stop (fleet.ts);
 *   2. the second's arrivals meet the ready capacity (queue-model.ts): served, dropped, latency;
 *   3. the second's values are recorded in the history (stamped at its end, (t+1)·1000) and
 *      added to the observation window and the run's totals;
 *   4. at the end of every interval, the window becomes an Observation, `decide()` runs at
 *      now = startMs + (t+1)·1000, and the fleet launches or stops instances.
 * Everything is O(1) per second except the decision, which runs once per interval.
 */
import { decide } from '../controller/decide.js';
import {
  initialDecisionState,
  type Behavior,
  type Decision,
  type DecisionState,
  type ScalingSpec,
} from '../controller/decision.js';
import { completeObservation, type HistoryReader, type Policy, type Slo } from '../policy/policy.js';
import { stateWarnings } from '../controller/state-usage.js';
import { HISTORY_SIGNALS, writeHistoryValues } from '../signals/index.js';
import { arrivals } from './arrivals.js';
import { DecisionTally, type DecisionExplanation } from './decision-tally.js';
import { fleet } from './fleet.js';
import { LatencyMix } from './latency-mix.js';
import { DEFAULT_MODEL } from './model-defaults.js';
import { emptySecondSignals, fillSecondSignals, SignalWindow } from './signal-window.js';
import { queueModel } from './queue-model.js';
import { RunHistory } from './run-history.js';
import type { Trace } from './trace.js';

/** The modelled service: capacity, latency, startup and the SLO it is judged by. */
export interface ModelParams {
  /** Requests per second one instance serves at 100 % CPU (`--capacity`). */
  capacity: number;
  /** Base latency of one request, ms (`--service-ms`). */
  serviceMs: number;
  /** Seconds from launch to ready (`--startup`). */
  startupS: number;
  /** Seconds a request may wait before it is dropped (`--queue-timeout`). */
  queueTimeoutS: number;
  /** The p95 latency objective, ms (`--slo-p95-ms`). */
  sloP95Ms: number;
  /** Seconds a scaled-down instance drains (billed) before it stops. */
  drainS: number;
}

/** Defaults of the model (in model-defaults.ts, which the CLI's help reads without the simulator). */
export { DEFAULT_MODEL };

/** A loaded policy with the scaling settings it runs under. */
export interface SimulatedPolicy {
  /** How results name it: `builtin:hpa`, `policies/cpu.lua`. */
  label: string;
  policy: Policy;
  params: Readonly<Record<string, unknown>>;
  /** Decision interval; rounded to whole seconds (at least 1). */
  intervalMs: number;
  /** Window the signals are averaged over at each decision (config `scaling.window`); default 2 s. */
  windowMs?: number;
  behavior: Behavior;
  min: number;
  max: number;
}

/** Everything one run needs. */
export interface SimulateOptions {
  trace: Trace;
  /** Multiplies the trace's rates. Default 1. */
  scale?: number;
  /** Poisson arrivals from this seed; undefined: deterministic. */
  seed?: number;
  model?: Partial<ModelParams>;
  policy: SimulatedPolicy;
  /** Ready instances at t = 0. Default: enough for the first bucket at 70 % (within min/max). */
  initial?: number;
  /** ctx.slo besides `latency_p95_ms` (which is the model's `sloP95Ms`): `--slo`. */
  slo?: Slo;
  /** Epoch ms of the trace's t = 0, as policies see it in ctx.now. Default 0. */
  startMs?: number;
  /**
   * Seconds of per-second history kept for ctx.history at least. Default 86400; grown to what the
   * policy reads (a daily-season forecast reading two days gets two days), up to the trace's length.
   */
  historySeconds?: number;
  /** Points per chart series (the run is bucketed to at most this many). Default 1500; 0: no series. */
  seriesPoints?: number;
  /** Called about every 1 % of the run. */
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
  /** Called after every decision (tests and the live/sim comparison read the sequence). */
  onDecision?: (decision: Decision, second: number) => void;
}

/**
 * The result of one run, in the output format of `luascale simulate --json`. SPEC RG elasticity
 * metrics (Herbst et al., "Quantifying Cloud Performance and Dependability", ACM TOMPECS 3(4),
 * 2018, §4): with demand d_t and supply s_t in instances and ε = 1,
 *   under_provisioning_accuracy  θU = 100/T Σ max(d−s, 0)/max(d, ε)   (percent)
 *   over_provisioning_accuracy   θO = 100/T Σ max(s−d, 0)/max(d, ε)   (percent)
 *   under_provisioning_timeshare τU = 100/T Σ [d > s]                  (percent of time)
 *   over_provisioning_timeshare  τO = 100/T Σ [s > d]                  (percent of time)
 * Demand is the fewest ready instances whose steady p95 meets the SLO at that second's load;
 * supply is the ready instances.
 */
export interface SimulationSummary {
  policy: string;
  instance_seconds: number;
  instance_hours: number;
  slo_violation_seconds: number;
  dropped_requests: number;
  total_requests: number;
  p95_ms: number;
  scale_actions: number;
  max_replicas: number;
  mean_utilization: number;
  ideal_instance_hours: number;
  under_provisioning_accuracy: number;
  over_provisioning_accuracy: number;
  under_provisioning_timeshare: number;
  over_provisioning_timeshare: number;
  /** Simulated seconds. */
  seconds: number;
  decisions: number;
  policy_errors: number;
}

/** Per-bucket series for the report's charts. */
export interface SimulationSeries {
  /** Seconds per point. */
  bucketS: number;
  /** Bucket start, seconds from the trace start. */
  t: number[];
  /** Mean offered req/s. */
  offered: number[];
  /** Mean ready capacity, req/s. */
  capacity: number[];
  /** Desired replicas at the end of the bucket. */
  desired: number[];
  /** Mean ready instances. */
  ready: number[];
  /** Mean billed instances (starting + ready + draining). */
  billed: number[];
  /** Worst per-second p95 in the bucket, ms. */
  p95: number[];
  /** Mean dropped req/s. */
  dropped: number[];
}

/** A run's summary, chart series and the model it ran with. */
export interface SimulationResult {
  summary: SimulationSummary;
  series: SimulationSeries | null;
  model: ModelParams;
  /** Notes about the run people should know (e.g. an SLO the model cannot meet). */
  warnings: string[];
  /** What the decisions add up to: reasons, the core's adjustments, the policy's errors. */
  explanation: DecisionExplanation;
}

/** Metric names recorded in the history each second: the catalogue's history signals. */
export const HISTORY_METRICS = HISTORY_SIGNALS;

/** Runs one policy over one trace. Synchronous: the policy is already loaded. */
export function simulate(options: SimulateOptions): SimulationResult {
  const model: ModelParams = { ...DEFAULT_MODEL, ...stripUndefined(options.model ?? {}) };
  validateModel(model);
  const sp = options.policy;
  const cap = model.capacity;
  const slo = model.sloP95Ms;
  const startMs = options.startMs ?? 0;
  const intervalS = Math.max(1, Math.round(sp.intervalMs / 1000));
  const warnings: string[] = [];
  if (slo < model.serviceMs) {
    warnings.push(
      `--slo-p95-ms ${slo} is below the base latency --service-ms ${model.serviceMs}: every second with traffic violates it`,
    );
  }

  const arr = arrivals(options.trace, { scale: options.scale, seed: options.seed });
  const total = arr.seconds;
  const qm = queueModel({ capacity: cap, serviceMs: model.serviceMs, queueTimeoutS: model.queueTimeoutS });
  const firstRate = options.trace.rps[0]! * (options.scale ?? 1);
  const initial = clamp(options.initial ?? Math.ceil(firstRate / (0.7 * cap) - 1e-9), sp.min, sp.max);
  const fl = fleet({ startupS: model.startupS, drainS: model.drainS, initial });

  const historySeconds = Math.max(60, Math.floor(options.historySeconds ?? 86_400));
  const history = new RunHistory(HISTORY_METRICS, historySeconds);
  // Keep what the policy reads: a read longer than the history grows it (up to the trace), which
  // loses nothing when it happens early (a policy reads the same span from its first tick on).
  const maxHistory = Math.max(historySeconds, arrivalsSeconds(options));
  const reader: HistoryReader = {
    stepSeconds: 1,
    series(metric, seconds, now) {
      if (seconds > history.capacity && history.capacity < maxHistory)
        history.keep(Math.min(seconds, maxHistory));
      return history.series(metric, seconds, now);
    },
  };
  const tally = new DecisionTally();
  let stateChecks = 0;
  const row = new Float64Array(HISTORY_METRICS.length);
  const second = emptySecondSignals();
  const counts = { replicas: 0, ready: 0, starting: 0 };
  const startSecond = Math.floor(startMs / 1000);

  const spec: ScalingSpec = {
    service: 'simulated',
    min: sp.min,
    max: sp.max,
    intervalMs: intervalS * 1000,
    behavior: sp.behavior,
    policy: sp.policy,
    params: sp.params,
  };
  let state: DecisionState = initialDecisionState();
  let desired = initial;
  // One object for the whole run: the sandbox re-sends ctx.slo only when the object changes.
  const sloObservation: Slo = { ...options.slo, latency_p95_ms: slo };

  // run totals
  let instanceSeconds = 0;
  let violations = 0;
  let dropped = 0;
  let offered = 0;
  let served = 0;
  let readySeconds = 0;
  let scaleActions = 0;
  let maxReplicas = initial;
  let idealSeconds = 0;
  let underAcc = 0;
  let overAcc = 0;
  let underTime = 0;
  let overTime = 0;
  let decisions = 0;
  let policyErrors = 0;
  const mix = new LatencyMix();
  // demand memo: within a bucket the rate repeats
  let lastDemandRate = -1;
  let lastDemand = 0;
  let lastBase = 0;

  // observation window (one decision interval)
  const signals = new SignalWindow(Math.max(1, Math.round((sp.windowMs ?? 2000) / 1000)));

  // chart series
  const points = options.seriesPoints ?? 1500;
  const bucketS = points > 0 ? Math.max(1, Math.ceil(total / points)) : 0;
  const series: SimulationSeries | null =
    points > 0
      ? {
          bucketS,
          t: [],
          offered: [],
          capacity: [],
          desired: [],
          ready: [],
          billed: [],
          p95: [],
          dropped: [],
        }
      : null;
  let bN = 0;
  let bOffered = 0;
  let bReady = 0;
  let bBilled = 0;
  let bP95 = 0;
  let bDropped = 0;

  const progressEvery = Math.max(1, Math.floor(total / 100));

  const deterministic = options.seed === undefined;
  let nextProgress = progressEvery;
  let t = 0;
  while (t < total) {
    fl.advance(t);
    const a = arr.next();
    const ready = fl.ready;
    const starting = fl.starting;
    const draining = fl.draining;
    // Seconds that would repeat this one exactly are handled at once: same arrivals, same fleet,
    // no backlog, and no decision, lifecycle event, chart bucket or progress tick in between.
    let k = 1;
    if (deterministic && qm.steady(a, ready)) {
      const nextDecision = (Math.floor(t / intervalS) + 1) * intervalS; // decide at the end of second nextDecision - 1
      k = Math.min(1 + arr.repeats(), fl.nextEventAt() - t, nextDecision - t, total - t, nextProgress - t);
      if (series) k = Math.min(k, bucketS - bN);
      k = Math.max(1, k);
    }
    const s = qm.step(a, ready);
    if (k > 1) {
      qm.skip(k - 1);
      arr.skip(k - 1);
    }
    const billed = ready + starting + draining;
    const live = ready + starting;

    instanceSeconds += billed * k;
    if (live > maxReplicas) maxReplicas = live;
    offered += a * k;
    served += s.served * k;
    dropped += s.dropped; // a repeated second drops nothing
    readySeconds += ready * k;
    mix.add(s, s.served * k);
    if (s.p95 > slo || s.dropped > 1e-6) violations += k;

    // ideal and SPEC demand
    if (a !== lastDemandRate) {
      lastDemandRate = a;
      lastBase = a > 0 ? Math.ceil(a / cap - 1e-9) : 0;
      lastDemand = demandFor(a, lastBase);
    }
    idealSeconds += lastBase * k;
    const d = lastDemand;
    if (d > ready) {
      underAcc += ((d - ready) / Math.max(d, 1)) * k;
      underTime += k;
    } else if (ready > d) {
      overAcc += ((ready - d) / Math.max(d, 1)) * k;
      overTime += k;
    }

    // history: second t is stamped at its end, (t + 1) s
    counts.replicas = live;
    counts.ready = ready;
    counts.starting = starting;
    fillSecondSignals(second, s, counts);
    writeHistoryValues(second, row);
    history.append(startSecond + t + 1, row, k);

    signals.push(s, k);

    if (series) {
      bN += k;
      bOffered += a * k;
      bReady += ready * k;
      bBilled += billed * k;
      if (s.p95 > bP95) bP95 = s.p95;
      bDropped += s.dropped;
    }

    t += k;
    const last = t - 1; // the last second handled

    if (t % intervalS === 0) {
      const stamp = startMs + t * 1000;
      const w = signals.read();
      // completeObservation lays the signals out in catalogue order.
      const observation = completeObservation({
        ...w,
        memory: 0,
        queue: s.queue,
        replicas: live,
        ready,
        starting,
        draining,
        slo: sloObservation,
        startup_s: model.startupS,
        fresh: true,
      });
      const result = decide(spec, { observation, history: reader, state, now: stamp });
      state = result.state;
      decisions++;
      if (!result.decision.policy.outcome.ok) policyErrors++;
      tally.add(result.decision, last);
      // ctx.state near a bound: warn once per bound (checked every 100th decision: a walk of the state).
      if (stateChecks >= 0 && decisions % 100 === 1) {
        const ws = stateWarnings(state.policyState);
        if (ws.length > 0) {
          warnings.push(...ws.map((w) => `${w}, first at second ${last}`));
          stateChecks = -1;
        }
      }
      desired = result.decision.replicas;
      if (desired !== live) {
        scaleActions++;
        fl.scaleTo(desired, last);
      }
      options.onDecision?.(result.decision, last);
    }

    if (series && (bN === bucketS || t === total)) {
      series.t.push(t - bN);
      series.offered.push(round(bOffered / bN, 3));
      series.capacity.push(round((bReady / bN) * cap, 3));
      series.ready.push(round(bReady / bN, 3));
      series.billed.push(round(bBilled / bN, 3));
      series.desired.push(desired);
      series.p95.push(round(bP95, 2));
      series.dropped.push(round(bDropped / bN, 3));
      bN = bOffered = bReady = bBilled = bP95 = bDropped = 0;
    }
    if (t >= nextProgress) {
      options.onProgress?.(t, total);
      nextProgress += progressEvery;
    }
  }
  // Requests whose drop the gateway had not yet answered when the trace ended are still lost.
  dropped += qm.pending().dropsToObserve;

  const T = Math.max(1, total);
  const summary: SimulationSummary = {
    policy: sp.label,
    instance_seconds: instanceSeconds,
    instance_hours: round(instanceSeconds / 3600, 4),
    slo_violation_seconds: violations,
    dropped_requests: round(dropped, 1),
    total_requests: Math.round(offered),
    p95_ms: round(mix.quantile(0.95), 1),
    scale_actions: scaleActions,
    max_replicas: maxReplicas,
    mean_utilization: readySeconds > 0 ? round(served / (readySeconds * cap), 4) : 0,
    ideal_instance_hours: round(idealSeconds / 3600, 4),
    under_provisioning_accuracy: round((100 * underAcc) / T, 3),
    over_provisioning_accuracy: round((100 * overAcc) / T, 3),
    under_provisioning_timeshare: round((100 * underTime) / T, 3),
    over_provisioning_timeshare: round((100 * overTime) / T, 3),
    seconds: total,
    decisions,
    policy_errors: policyErrors,
  };
  return { summary, series, model, warnings, explanation: tally.explanation() };

  /** Fewest instances whose steady p95 meets the SLO at `a` req/s (SPEC "demand"). */
  function demandFor(a: number, base: number): number {
    if (a <= 0) return 0;
    if (slo < model.serviceMs) return base;
    let n = Math.max(1, base);
    const limit = n * 2 + 10;
    while (n < limit && qm.steadyP95Exceeds(a, n, slo)) n++;
    return n;
  }
}

/** Seconds the trace lasts (what the history can ever need to hold). */
function arrivalsSeconds(o: SimulateOptions): number {
  return Math.ceil(o.trace.durationSeconds);
}

/** Checks model parameters; a bad value is a RangeError the CLI turns into one line. */
export function validateModel(m: ModelParams): void {
  const positive: Array<keyof ModelParams> = ['capacity', 'serviceMs', 'sloP95Ms'];
  for (const k of positive)
    if (!(Number.isFinite(m[k]) && m[k] > 0)) throw new RangeError(`${k} must be > 0, got ${m[k]}`);
  const nonNegative: Array<keyof ModelParams> = ['startupS', 'queueTimeoutS', 'drainS'];
  for (const k of nonNegative)
    if (!(Number.isFinite(m[k]) && m[k] >= 0)) throw new RangeError(`${k} must be >= 0, got ${m[k]}`);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
