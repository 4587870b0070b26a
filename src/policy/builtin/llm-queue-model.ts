/**
 * The queueing model behind `llm-slo`: predicted TTFT p95 of a fleet of model servers, from a few
 * quantities fitted online to what the engines report (llm-slo.ts keeps the fit).
 *
 * A replica runs up to `seats` sequences at once, each slowed by the engine's load factor
 * (llm-d-inference-sim's time-factor-under-load, vLLM's batching): the ITL at n running sequences
 * per replica is itl0 × (1 + slope × (n − 1)), and so is a request's seat time, S(n) = s0 × the
 * same factor. At an arrival rate λ on N replicas, n solves n = λ·S(n)/N (Little's law per
 * replica; linear, so in closed form), and the fleet is an M/M/m queue with m = N × seats servers
 * of rate 1/S(n) (Erlang C, metrics/erlang-c.ts; service times of LLM requests vary as widely as
 * an exponential's, so no Allen–Cunneen correction):
 *   P(wait > t) = C(m, λS) · e^(−(m/S − λ) t),   wait p95 = ln(C / 0.05) / (m/S − λ)  (0 if C ≤ 0.05)
 *   TTFT p95 ≈ prefill p95 × factor(n) + wait p95
 * where prefill p95 is measured at factor 1. Beyond the fleet's capacity the prediction is Infinity.
 */
import { erlangC } from '../../metrics/erlang-c.js';

/** The fitted quantities. */
export interface LlmFit {
  /** Seat time of a request at load factor 1, seconds. */
  s0: number;
  /** Load-factor slope per extra running sequence on a replica (0: no slowdown). */
  slope: number;
  /** Sequences a replica runs at once. */
  seats: number;
  /** TTFT p95 without queueing, at load factor 1, ms. */
  prefillP95Ms: number;
}

/** Running sequences per replica at rate λ (req/s) on N replicas, or Infinity past capacity. */
export function occupancy(fit: LlmFit, lambda: number, replicas: number): number {
  if (lambda <= 0) return 0;
  if (replicas <= 0) return Infinity;
  // n = λ s0 (1 + slope (n − 1)) / N  ⇒  n (N − λ s0 slope) = λ s0 (1 − slope)
  const a = lambda * fit.s0;
  const denom = replicas - a * fit.slope;
  if (denom <= 0) return Infinity;
  const n = (a * (1 - fit.slope)) / denom;
  return n > fit.seats ? Infinity : Math.max(0, n);
}

/** The engine's slowdown at `n` running sequences per replica. */
export function slowdown(fit: LlmFit, n: number): number {
  return 1 + fit.slope * Math.max(0, n - 1);
}

/** Predicted TTFT p95 (ms) at λ req/s on `replicas` replicas (Infinity past capacity). */
export function predictTtftP95(fit: LlmFit, lambda: number, replicas: number): number {
  if (lambda <= 0) return replicas > 0 ? fit.prefillP95Ms : Infinity;
  const n = occupancy(fit, lambda, replicas);
  if (!Number.isFinite(n)) return Infinity;
  const f = slowdown(fit, n);
  const service = fit.s0 * f;
  const servers = Math.max(1, Math.round(replicas * fit.seats));
  const offered = lambda * service;
  if (offered >= servers) return Infinity;
  const c = erlangC(servers, offered);
  const wait = c > 0.05 ? Math.log(c / 0.05) / (servers / service - lambda) : 0;
  return fit.prefillP95Ms * f + wait * 1000;
}

/**
 * The fewest replicas in [1, max] whose predicted TTFT p95 is at most `targetMs` (max when none).
 * Prefill alone may exceed the target (long prompts): then no fleet meets it, and more replicas
 * than it takes to come within 10 % of the prefill time only cost, so the target is raised to that.
 */
export function replicasFor(fit: LlmFit, lambda: number, o: { targetMs: number; max: number }): number {
  if (lambda <= 0) return 1;
  const target = Math.max(o.targetMs, 1.1 * fit.prefillP95Ms);
  // Capacity bound first (no replica count below it can work), then step up to the target.
  let n = Math.max(1, Math.ceil((lambda * fit.s0) / fit.seats - 1e-9));
  for (; n < o.max; n++) if (predictTtftP95(fit, lambda, n) <= target) return n;
  return o.max;
}
