/**
 * `llm-slo`: size a fleet of model servers so that the predicted TTFT p95 meets the service's
 * objective (`ttft_p95_ms` in `scaling.slo` or `x-luascale-slo`, or the param), with the queueing
 * model of llm-queue-model.ts fitted online to what the engines report:
 *
 *   seats   the most sequences a replica was seen running (llm.running / ready), or `seats`
 *   slope   the engine's slowdown per extra running sequence: the least-squares line
 *           ITL = a + b (n − 1) through the (running per replica n, llm.itl.p50) pairs seen,
 *           slope = b / a (a discounted regression: old pairs fade at `fit_alpha`)
 *   s0      seat time per request at no slowdown, by Little's law while nothing waits:
 *           (llm.running / rps) / slowdown(n)
 *   prefill TTFT p95 while nothing waits (llm.ttft.p95), divided by the slowdown
 * each an exponentially weighted mean (`fit_alpha`) kept in ctx.state.
 *
 * Plan: new replicas take the measured startup time H (ctx startup_s; `horizon_s` overrides) to
 * serve, so the fleet is sized for the highest arrival rate of the last `hold` × H seconds (rps
 * averaged over `smooth_s`; the queue absorbs shorter bursts), plus the backlog spread over H:
 *   desired = the fewest replicas whose predicted TTFT p95 ≤ headroom × SLO at that rate.
 * Since the rate is a maximum over hold × H, a scale-in waits that long after the load fell:
 * capacity given back cannot return faster than H (ski rental: keep idle capacity about as long
 * as it costs to get back). `hold`, `smooth_s` and `headroom` are chosen by cross-validation on
 * token traces (scripts/llm-backtest.ts, docs/backtests.md). Until the model has its first fit it
 * holds (one more while requests wait).
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { llmSignal } from './llm-signals.js';
import { replicasFor, predictTtftP95, slowdown, type LlmFit } from './llm-queue-model.js';
import { failure, recommend } from './outcome.js';
import { paramReader } from './params.js';

/** Validated llm-slo params. */
export interface LlmSloParams {
  ttftP95Ms?: number;
  headroom: number;
  smoothS: number;
  horizonS?: number;
  hold: number;
  seats?: number;
  fitAlpha: number;
}

/** The SLO when neither the service nor the params give one, ms. */
export const DEFAULT_LLM_TTFT_SLO_MS = 2000;

/** Validates llm-slo params. */
export function parseLlmSloParams(params: Readonly<Record<string, unknown>>): LlmSloParams {
  const r = paramReader('llm-slo', params);
  r.onlyKeys(['ttft_p95_ms', 'headroom', 'smooth_s', 'horizon_s', 'hold', 'seats', 'fit_alpha']);
  return {
    ttftP95Ms: r.optionalNumber('ttft_p95_ms', { min: 0, exclusiveMin: true }),
    headroom: r.number('headroom', 1, { min: 0.1, max: 1 }),
    smoothS: r.number('smooth_s', 10, { min: 1, max: 600 }),
    horizonS: r.optionalNumber('horizon_s', { min: 0, max: 3600 }),
    hold: r.number('hold', 8, { min: 1, max: 20 }),
    seats: r.optionalNumber('seats', { min: 1 }),
    fitAlpha: r.number('fit_alpha', 0.05, { min: 0.001, max: 1 }),
  };
}

interface FitState {
  seats?: number;
  /** Discounted sums of the ITL regression: weight, x, y, x², xy. */
  rw?: number;
  rx?: number;
  ry?: number;
  rxx?: number;
  rxy?: number;
  slope?: number;
  s0?: number;
  pre95?: number;
}

/** Creates the llm-slo policy. */
export function llmSlo(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseLlmSloParams(params);
  return {
    name: 'builtin:llm-slo',
    source: `llm-slo: fewest replicas whose predicted TTFT p95 is within ${p.headroom * 100}% of the SLO at the peak rate of the last ${p.hold} startup times`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        return sloDecision(ctx, p);
      } catch (err) {
        return failure('llm-slo', err);
      }
    },
  };
}

function ewma(old: number | undefined, sample: number, alpha: number): number {
  return old === undefined ? sample : old + alpha * (sample - old);
}

/** Updates the fit in `st` from one observation. */
function fitStep(ctx: PolicyContext, st: FitState, p: LlmSloParams): void {
  const obs = ctx.observation;
  const ready = obs.ready;
  const running = llmSignal(obs, 'running');
  const waiting = llmSignal(obs, 'waiting') ?? 0;
  if (ready <= 0 || running === undefined) return;
  const n = running / ready;
  st.seats = p.seats ?? Math.max(st.seats ?? 1, Math.ceil(n - 1e-9));
  const itl = llmSignal(obs, 'itl.p50');
  if (itl !== undefined && itl > 0 && n > 0) {
    const keep = 1 - p.fitAlpha;
    const x = Math.max(0, n - 1);
    st.rw = (st.rw ?? 0) * keep + 1;
    st.rx = (st.rx ?? 0) * keep + x;
    st.ry = (st.ry ?? 0) * keep + itl;
    st.rxx = (st.rxx ?? 0) * keep + x * x;
    st.rxy = (st.rxy ?? 0) * keep + x * itl;
    const varX = st.rxx / st.rw - (st.rx / st.rw) ** 2;
    // Only once the pairs spread over at least one sequence does the line say anything.
    if (varX > 0.25) {
      const b = (st.rxy / st.rw - (st.rx / st.rw) * (st.ry / st.rw)) / varX;
      const a = st.ry / st.rw - b * (st.rx / st.rw);
      if (a > 0) st.slope = Math.max(0, b / a);
    }
  }
  const fit: LlmFit = { s0: 1, slope: st.slope ?? 0, seats: st.seats, prefillP95Ms: 0 };
  const f = slowdown(fit, n);
  const queued = waiting + (obs.queue ?? 0);
  if (queued < 0.5 && obs.rps > 0 && running > 0) st.s0 = ewma(st.s0, running / obs.rps / f, p.fitAlpha);
  const ttft95 = llmSignal(obs, 'ttft.p95');
  if (queued < 0.5 && ttft95 !== undefined) st.pre95 = ewma(st.pre95, ttft95 / f, p.fitAlpha);
}

/** The highest `smoothS`-second mean of rps over the last `horizonS` seconds (and now). */
function plannedRate(ctx: PolicyContext, smoothS: number, horizonS: number): number {
  const step = ctx.history.stepSeconds || 1;
  const k = Math.max(1, Math.round(smoothS / step));
  const xs = ctx.history.series('rps', horizonS + smoothS, ctx.now).map((x) => (Number.isFinite(x) ? x : 0));
  let best = ctx.observation.rps;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i]!;
    if (i >= k) sum -= xs[i - k]!;
    if (i >= k - 1) best = Math.max(best, sum / k);
  }
  return best;
}

function sloDecision(ctx: PolicyContext, p: LlmSloParams): PolicyOutcome {
  const obs = ctx.observation;
  const current = obs.replicas;
  const st = ctx.state as FitState;
  if (obs.fresh !== false) fitStep(ctx, st, p);
  const slo = p.ttftP95Ms ?? obs.slo?.ttft_p95_ms ?? DEFAULT_LLM_TTFT_SLO_MS;
  const horizon = p.horizonS ?? obs.startup_s ?? 120;
  const waiting = (llmSignal(obs, 'waiting') ?? 0) + (obs.queue ?? 0);
  if (st.s0 === undefined || st.seats === undefined || st.pre95 === undefined) {
    const up = waiting > 0 ? current + 1 : Math.max(current, obs.rps > 0 ? 1 : 0);
    return recommend(
      up,
      `fitting the model (no queue-free sample yet): ${up}`,
      { slo_ms: slo },
      { state: ctx.state },
    );
  }
  const fit: LlmFit = { s0: st.s0, slope: st.slope ?? 0, seats: st.seats, prefillP95Ms: st.pre95 };
  // Capacity asked for now serves from H on: the backlog counts as load spread over H.
  const rate = plannedRate(ctx, p.smoothS, p.hold * horizon) + waiting / Math.max(1, horizon);
  const target = p.headroom * slo;
  const desired = Math.max(
    waiting > 0 || obs.rps > 0 ? 1 : 0,
    replicasFor(fit, rate, { targetMs: target, max: Math.max(1, ctx.max) }),
  );
  const detail = {
    slo_ms: slo,
    rate: round(rate),
    horizon_s: horizon,
    predicted_ms: round(predictTtftP95(fit, rate, desired)),
    s0: round(fit.s0),
    slope: round(fit.slope),
    seats: fit.seats,
    prefill_p95_ms: round(fit.prefillP95Ms),
  };
  return recommend(
    desired,
    `TTFT p95 ≤ ${Math.round(target)}ms at ${round(rate)} req/s (peak of ${horizon}s) needs ${desired}`,
    detail,
    { state: ctx.state },
  );
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
