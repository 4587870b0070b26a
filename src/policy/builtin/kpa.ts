/**
 * `kpa`: the Knative Pod Autoscaler.
 *
 * Source: knative/serving pkg/autoscaler/scaling/autoscaler.go (`Scale`), defaults from
 * config/core/configmaps/autoscaler.yaml and pkg/autoscaler/config/config.go, target resolution
 * from pkg/resources/target.go; docs https://knative.dev/docs/serving/autoscaling/.
 * - The metric (concurrency = in-flight requests, or rps) is averaged over a 60 s stable window and
 *   a 6 s panic window (10 %), from 1 s buckets this policy keeps in its state.
 * - target = per-pod target (container-concurrency-target-default 100, or rps target 200)
 *   × target utilisation (70 %); desired = ceil(windowAverage / target).
 * - Rate bounds per evaluation: up to ceil(1000 × ready), down to floor(ready / 2).
 * - Panic starts when ceil(panicAverage / target) / ready ≥ 2.0. In panic the count never goes
 *   down; panic ends when a whole stable window has passed without crossing the threshold.
 *
 * The 1 s buckets live in a per-service closure cache tied to ctx.state by a token, the time they
 * were seeded (ctx.state is copied every tick, and Knative itself keeps its windows in memory); a
 * fresh state, or buckets newer than now (another run), re-seeds them from ctx.history.
 *
 * State machine (kept in ctx.state): stable → panic (threshold crossed; `panicTime` = now,
 * re-armed every tick above the threshold) → stable (now > panicTime + stable window).
 * A new autoscaler with more than one ready pod starts in panic, as Knative does (PR #4795),
 * so a restart that lost the window does not scale down on an empty average.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { paramReader } from './params.js';
import { readMetric } from './read-metric.js';
import { failure, recommend } from './outcome.js';

/** Knative's DeciderSpec, reduced to what the scale computation reads. */
export interface KpaSpec {
  /** Effective per-pod target (already × target utilisation). */
  targetValue: number;
  panicThreshold: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  stableWindowMs: number;
}

/** Panic bookkeeping carried between evaluations (`autoscaler.panicTime`, `maxPanicPods`). */
export interface KpaPanicState {
  /** ms; null when not panicking. */
  panicTime: number | null;
  maxPanicPods: number;
}

/** What one `Scale` call decided. */
export interface KpaScaleResult {
  desired: number;
  desiredStable: number;
  desiredPanic: number;
  panicking: boolean;
  state: KpaPanicState;
}

/** What one `Scale` call sees: the stable and panic window averages (service totals) and ready pods. */
export interface KpaObservation {
  stableAvg: number;
  panicAvg: number;
  readyCount: number;
}

/** autoscaler.go `Scale`: stable/panic averages (service totals) and ready pods → desired pods. */
export function kpaScale(
  spec: KpaSpec,
  { stableAvg, panicAvg, readyCount }: KpaObservation,
  prev: KpaPanicState,
  now: number,
): KpaScaleResult {
  const readyPods = Math.max(1, readyCount);
  const maxScaleUp = Math.ceil(spec.maxScaleUpRate * readyPods);
  const maxScaleDown = Math.floor(readyPods / spec.maxScaleDownRate);
  const dspc = Math.ceil(stableAvg / spec.targetValue - 1e-9);
  const dppc = Math.ceil(panicAvg / spec.targetValue - 1e-9);
  const desiredStable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
  let desiredPanic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
  let { panicTime, maxPanicPods } = prev;
  const overThreshold = dppc / readyPods >= spec.panicThreshold;
  if (overThreshold) {
    // begin panicking, or extend the panic window while still over the threshold
    panicTime = now;
  } else if (panicTime !== null && now > panicTime + spec.stableWindowMs) {
    // the surge has made its way into the stable window: stop panicking
    panicTime = null;
    maxPanicPods = 0;
  }
  let desired = desiredStable;
  if (panicTime !== null) {
    // the stable average can exceed the panic one (a falling edge); use the larger
    if (desiredPanic < desiredStable) desiredPanic = desiredStable;
    // in panic, never decrease
    if (desiredPanic > maxPanicPods) maxPanicPods = desiredPanic;
    desired = maxPanicPods;
  }
  return {
    desired,
    desiredStable,
    desiredPanic,
    panicking: panicTime !== null,
    state: { panicTime, maxPanicPods },
  };
}

/** Validated kpa params. */
export interface KpaParams {
  metric: 'concurrency' | 'rps';
  /** Per-pod target before utilisation (Knative's "total"). */
  target: number;
  targetUtilization: number;
  spec: KpaSpec;
  panicWindowMs: number;
}

/** Validates kpa params. */
export function parseKpaParams(params: Readonly<Record<string, unknown>>): KpaParams {
  const r = paramReader('kpa', params);
  r.onlyKeys([
    'metric',
    'target',
    'target_utilization',
    'stable_window',
    'panic_window_percentage',
    'panic_threshold_percentage',
    'max_scale_up_rate',
    'max_scale_down_rate',
  ]);
  const raw = r.raw('metric');
  const metric =
    raw === 'inflight' ? 'concurrency' : r.oneOf('metric', ['concurrency', 'rps'] as const, 'concurrency');
  const target = r.number('target', metric === 'rps' ? 200 : 100, { min: 0, exclusiveMin: true });
  const targetUtilization = r.number('target_utilization', 0.7, { min: 0, max: 1, exclusiveMin: true });
  const stableWindowMs = r.duration('stable_window', 60_000);
  if (stableWindowMs < 6000 || stableWindowMs > 3_600_000)
    r.fail(`stable_window: must be within 6s..1h, got ${stableWindowMs / 1000}s`);
  const panicPct = r.number('panic_window_percentage', 10, { min: 1, max: 100 });
  const thresholdPct = r.number('panic_threshold_percentage', 200, { min: 110, max: 1000 });
  const up = r.number('max_scale_up_rate', 1000, { min: 1, exclusiveMin: true });
  const down = r.number('max_scale_down_rate', 2, { min: 1, exclusiveMin: true });
  return {
    metric,
    target,
    targetUtilization,
    panicWindowMs: Math.max(1000, Math.round((stableWindowMs * panicPct) / 100)),
    spec: {
      // resources/target.go: target = max(0.01, total × utilisation)
      targetValue: Math.max(0.01, target * targetUtilization),
      panicThreshold: thresholdPct / 100,
      maxScaleUpRate: up,
      maxScaleDownRate: down,
      stableWindowMs,
    },
  };
}

/** The 1 s buckets of the stable window, kept outside ctx.state (the core copies state every tick). */
interface KpaBuckets {
  /** Identity of the ctx.state generation these buckets belong to. */
  token: number;
  /** Bucket start times (ms, whole seconds) and bucket averages, oldest first. */
  ts: number[];
  vs: number[];
  ns: number[];
}

/** What ctx.state carries between evaluations: small scalars only. */
interface KpaState {
  token: number;
  panicTime: number | null;
  maxPanicPods: number;
}

/** Adds one sample to its 1 s bucket and drops buckets older than the stable window. */
function record(s: KpaBuckets, now: number, value: number, windowMs: number): void {
  const sec = Math.floor(now / 1000) * 1000;
  const last = s.ts.length - 1;
  if (last >= 0 && s.ts[last] === sec) {
    const n = s.ns[last]! + 1;
    s.vs[last] = s.vs[last]! + (value - s.vs[last]!) / n;
    s.ns[last] = n;
  } else {
    s.ts.push(sec);
    s.vs.push(value);
    s.ns.push(1);
  }
  let drop = 0;
  while (drop < s.ts.length && s.ts[drop]! <= now - windowMs) drop++;
  if (drop > 0) {
    s.ts.splice(0, drop);
    s.vs.splice(0, drop);
    s.ns.splice(0, drop);
  }
}

/** Average of the buckets in (now − window, now]; over the data there is when shorter. */
function windowAverage(s: KpaBuckets, now: number, windowMs: number): number {
  let sum = 0;
  let n = 0;
  for (let i = s.ts.length - 1; i >= 0 && s.ts[i]! > now - windowMs; i--) {
    sum += s.vs[i]!;
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

/** Creates the kpa policy. */
export function kpa(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseKpaParams(params);
  const metricName = p.metric === 'rps' ? 'rps' : 'inflight';
  const buckets = new Map<string, KpaBuckets>();
  return {
    name: 'builtin:kpa',
    source: `kpa: Knative autoscaler on ${p.metric}, target ${p.target} × ${p.targetUtilization}, stable ${p.spec.stableWindowMs / 1000}s, panic ${p.panicWindowMs / 1000}s at ${p.spec.panicThreshold}×`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const now = ctx.now;
        let s = ctx.state.kpa as KpaState | undefined;
        let b = buckets.get(ctx.service);
        const fresh =
          b !== undefined && b.token === s?.token && !(b.ts.length > 0 && b.ts[b.ts.length - 1]! > now);
        if (!s || typeof s !== 'object' || !b || !fresh) {
          // a new autoscaler (first tick, restart, new simulation): seed the window from history;
          // the token is the seeding time, so one context evaluated twice answers the same
          s = { token: now, panicTime: null, maxPanicPods: 0 };
          b = { token: s.token, ts: [], vs: [], ns: [] };
          buckets.set(ctx.service, b);
          const past = ctx.history.series(metricName, Math.round(p.spec.stableWindowMs / 1000), now);
          const step = (ctx.history.stepSeconds || 1) * 1000;
          for (let i = 0; i < past.length - 1; i++) {
            const v = past[i]!;
            if (Number.isFinite(v)) record(b, now - (past.length - 1 - i) * step, v, p.spec.stableWindowMs);
          }
          // Knative starts a new autoscaler in panic when more than one pod is ready (PR #4795)
          if (obs.ready > 1) {
            s.panicTime = now;
            s.maxPanicPods = obs.ready;
          }
        }
        const value = obs.fresh === false ? undefined : readMetric(obs, metricName);
        if (value === undefined) {
          ctx.state.kpa = s;
          return recommend(
            obs.replicas,
            `no ${p.metric} data: keep ${obs.replicas}`,
            { metric: p.metric, value: null },
            { state: ctx.state },
          );
        }
        record(b, now, value, p.spec.stableWindowMs);
        const stable = windowAverage(b, now, p.spec.stableWindowMs);
        const panic = windowAverage(b, now, p.panicWindowMs);
        const res = kpaScale(
          p.spec,
          { stableAvg: stable, panicAvg: panic, readyCount: obs.ready },
          { panicTime: s.panicTime, maxPanicPods: s.maxPanicPods },
          now,
        );
        s.panicTime = res.state.panicTime;
        s.maxPanicPods = res.state.maxPanicPods;
        ctx.state.kpa = s;
        return recommend(
          res.desired,
          res.panicking
            ? `panic: ${p.metric} ${round(panic)} over 6s needs ${res.desiredPanic}`
            : `${p.metric} ${round(stable)} over ${p.spec.stableWindowMs / 1000}s / target ${round(p.spec.targetValue)}`,
          {
            metric: p.metric,
            value,
            stable: round(stable),
            panic: round(panic),
            target: round(p.spec.targetValue),
            desiredStable: res.desiredStable,
            desiredPanic: res.desiredPanic,
            mode: res.panicking ? 'panic' : 'stable',
          },
          { state: ctx.state },
        );
      } catch (err) {
        return failure('kpa', err);
      }
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
