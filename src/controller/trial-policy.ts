/**
 * Trial evaluations: a policy is run on a few typical and awkward observations before anyone relies
 * on it. `luascale check` runs them on every policy it validates, and a hot reload (`policy reload`,
 * `PUT /v1/services/{name}/policy`) runs them, plus the service's current observation, before the
 * new policy replaces the old one. A runtime error, a bad return value or an exhausted instruction
 * budget on any point rejects the policy; the message names the point and the policy's file:line.
 */
import {
  completeObservation,
  emptyHistory,
  type HistoryReader,
  type Observation,
  type PolicyContext,
  type PolicyOutcome,
} from '../policy/policy.js';
import { SIGNALS, signalsFromValues } from '../signals/index.js';

/** Every load signal at its catalogue `trial` value for `point` (SignalSpec.trial), the others 0. */
function trialSignals(point: 'overload' | 'fractional'): Partial<Observation> {
  return signalsFromValues(
    SIGNALS.map((s) => ('trial' in s ? s.trial[point] : 0)),
    0,
  );
}

/** One observation a policy is tried on. */
export interface TrialPoint {
  /** What the point stands for, shown when the policy fails on it. */
  name: string;
  observation: Observation;
}

/**
 * The points every trial runs: a typical load, idle, overload with a queue and shedding,
 * fractional values (policies that treat every number as an integer fail here), instances still
 * starting (all of them without an SLO: `ctx.slo` empty), and a typical load with an SLO.
 */
export const TRIAL_POINTS: readonly TrialPoint[] = [
  {
    name: 'typical load',
    observation: completeObservation({
      replicas: 2,
      ready: 2,
      cpu: 50,
      memory: 40,
      rps: 100,
      inflight: 4,
      latency: { p50: 20, p95: 80, p99: 120 },
    }),
  },
  { name: 'idle', observation: completeObservation({ replicas: 1, ready: 1, cpu: 0, memory: 5, rps: 0 }) },
  {
    name: 'overload',
    observation: completeObservation({ ...trialSignals('overload'), replicas: 4, ready: 4 }),
  },
  {
    name: 'fractional values',
    observation: completeObservation({ ...trialSignals('fractional'), replicas: 3, ready: 3 }),
  },
  {
    name: 'instances starting',
    observation: completeObservation({
      replicas: 3,
      ready: 1,
      starting: 2,
      cpu: 85,
      memory: 60,
      rps: 300,
      latency: { p50: 40, p95: 200, p99: 400 },
    } as Partial<Observation>),
  },
  {
    name: 'with an SLO',
    observation: completeObservation({
      replicas: 2,
      ready: 2,
      cpu: 50,
      memory: 40,
      rps: 100,
      inflight: 4,
      latency: { p50: 20, p95: 80, p99: 120 },
      slo: { latency_p95_ms: 250, latency_p99_ms: 500, error_rate: 0.01, availability: 0.999 },
    }),
  },
];

/** What a trial needs besides the policy. */
export interface TrialOptions {
  service: string;
  min: number;
  max: number;
  params: Readonly<Record<string, unknown>>;
  /** `ctx.now` of every call (the decision clock). */
  now: number;
  /** More points, tried after TRIAL_POINTS (`check --input`). */
  points?: readonly TrialPoint[];
  /** The service's latest observation (a hot reload): tried last, with `state` and `history`. */
  current?: { observation: Observation; state?: Record<string, unknown>; history?: HistoryReader };
}

/** The calls a trial makes, in order: every TRIAL_POINTS entry, then the current observation. */
export function trialCalls(options: TrialOptions): Array<{ point: string; ctx: PolicyContext }> {
  const base = { service: options.service, now: options.now, min: options.min, max: options.max };
  const calls = [...TRIAL_POINTS, ...(options.points ?? [])].map((p) => ({
    point: p.name,
    ctx: {
      ...base,
      observation: structuredClone(p.observation),
      params: options.params,
      state: {},
      history: emptyHistory,
    },
  }));
  const cur = options.current;
  if (cur) {
    calls.push({
      point: 'the current observation',
      ctx: {
        ...base,
        observation: structuredClone(cur.observation),
        params: options.params,
        state: structuredClone(cur.state ?? {}),
        history: cur.history ?? emptyHistory,
      },
    });
  }
  return calls;
}

/** The verdict of a trial. */
export type TrialResult =
  | { ok: true; recommendations: Array<{ point: string; replicas: number }> }
  | { ok: false; point: string; code: string; error: string };

/**
 * Runs the trial calls through `evaluate` (in-thread, or a batch in the sandbox worker) and
 * returns the first failure, or every recommendation.
 */
export async function runTrial(
  evaluate: (ctxs: PolicyContext[]) => PolicyOutcome[] | Promise<PolicyOutcome[]>,
  options: TrialOptions,
): Promise<TrialResult> {
  const calls = trialCalls(options);
  const outcomes = await evaluate(calls.map((c) => c.ctx));
  const recommendations: Array<{ point: string; replicas: number }> = [];
  for (const [i, o] of outcomes.entries()) {
    const point = calls[i]!.point;
    if (!o.ok) return { ok: false, point, code: o.code, error: o.error };
    // decide() treats these as PolicyError too (a count must be a finite number >= 0).
    if (!(Number.isFinite(o.replicas) && o.replicas >= 0))
      return {
        ok: false,
        point,
        code: 'LS_ERR_POLICY_RESULT',
        error: `bad result: replicas must be a finite number >= 0, got ${o.replicas}`,
      };
    recommendations.push({ point, replicas: o.replicas });
  }
  return { ok: true, recommendations };
}
