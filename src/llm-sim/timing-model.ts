/**
 * The latency model of llm-d's inference simulator (llm-d/llm-d-inference-sim, docs/latency-simulation.md;
 * see ../shared/reference/ai-gateways.md §7), as pure functions of model milliseconds:
 *
 *   prefill (TTFT without queueing) = prefill-overhead + (prompt − cached) × prefill-time-per-token
 *                                     (or a constant time-to-first-token when one is set)
 *   decode                          = (output − 1) × inter-token-latency
 *   both × load factor, where the factor grows linearly from 1 (one running sequence) to
 *   time-factor-under-load (max-num-seqs running)
 *   jitter: a normal deviation of std-dev (at most 30 % of the mean), clamped to ±70 % of the mean.
 */
import { normal, type Random } from './random.js';

/** Timing parameters, in model milliseconds. */
export interface TimingParams {
  /** Fixed cost of a prefill (llm-d `prefill-overhead`). */
  prefillOverheadMs: number;
  /** Cost per uncached prompt token (llm-d `prefill-time-per-token`). */
  prefillPerTokenMs: number;
  /** A constant TTFT instead of the prefill formula (llm-d `time-to-first-token`); 0 = use the formula. */
  ttftMs: number;
  /** Standard deviation of the prefill time (llm-d `prefill-time-std-dev` / `time-to-first-token-std-dev`). */
  ttftStdDevMs: number;
  /** Time between two output tokens (llm-d `inter-token-latency`). */
  itlMs: number;
  /** Its standard deviation (llm-d `inter-token-latency-std-dev`). */
  itlStdDevMs: number;
  /** The slowdown at max-num-seqs running sequences (llm-d `time-factor-under-load`, >= 1). */
  timeFactorUnderLoad: number;
  /** max-num-seqs: the running-sequence limit, where the load factor peaks. */
  maxNumSeqs: number;
}

/** llm-d: "scales linearly from 1 (one request) to time-factor-under-load at max-num-seqs". */
export function loadFactor(running: number, params: TimingParams): number {
  if (params.maxNumSeqs <= 1 || running <= 1) return 1;
  const share = Math.min(1, (running - 1) / (params.maxNumSeqs - 1));
  return 1 + (params.timeFactorUnderLoad - 1) * share;
}

/** `mean` with llm-d's jitter: std-dev capped at 30 % of the mean, the result clamped to ±70 %. */
export function jittered(mean: number, stdDev: number, random: Random | undefined): number {
  if (!random || stdDev <= 0 || mean <= 0) return mean;
  const sd = Math.min(stdDev, 0.3 * mean);
  const value = mean + sd * normal(random);
  return Math.min(1.7 * mean, Math.max(0.3 * mean, value));
}

/** One prefill's work: a prompt with `cachedTokens` already in the KV cache, at `running` sequences. */
export interface PrefillWork {
  promptTokens: number;
  cachedTokens: number;
  running: number;
}

/** Prefill time of a prompt with `cachedTokens` already in the KV cache, at `running` sequences. */
export function prefillMs(work: PrefillWork, params: TimingParams, random?: Random): number {
  const { promptTokens, cachedTokens, running } = work;
  const base =
    params.ttftMs > 0
      ? params.ttftMs
      : params.prefillOverheadMs + Math.max(0, promptTokens - cachedTokens) * params.prefillPerTokenMs;
  return jittered(base, params.ttftStdDevMs, random) * loadFactor(running, params);
}

/** The gap before one more output token at `running` sequences. */
export function interTokenMs(running: number, params: TimingParams, random?: Random): number {
  return jittered(params.itlMs, params.itlStdDevMs, random) * loadFactor(running, params);
}

/** Without jitter and at a constant load: TTFT + (output − 1) × ITL, the whole service time. */
export function serviceMs(work: PrefillWork & { outputTokens: number }, params: TimingParams): number {
  return prefillMs(work, params) + Math.max(0, work.outputTokens - 1) * interTokenMs(work.running, params);
}
