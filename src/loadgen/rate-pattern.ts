/**
 * Offered load as a function of time, for the open-loop load generator. Pure: parsing, the rate at
 * a time, and the expected number of arrivals up to a time (the integral of the rate), which is what
 * the sender schedules against.
 *
 * Grammar (`--pattern`):
 *
 *   pattern := RPS | "const:" RPS | "step:" RATES "@" TIMES | "ramp:" RATES "@" TIMES
 *   RATES   := RPS ("," RPS)*          n rates
 *   TIMES   := DUR ("," DUR)*          n − 1 strictly increasing times from the start (15s, 1m, 500ms; bare = s)
 *
 *   50                     50 rps throughout
 *   step:10,40@30s         10 rps, then 40 rps from t = 30 s
 *   step:10,40,10@30s,60s  10 rps, 40 rps from 30 s, 10 rps again from 60 s
 *   ramp:0,100@60s         linear from 0 to 100 rps over the first minute, then 100 rps
 *   ramp:10,100,10@30s,90s up to 100 rps at 30 s, back down to 10 rps at 90 s, then 10 rps
 *
 * A step pattern holds rate i from time i (time 0 = 0) until time i+1; a ramp pattern passes
 * through (time i, rate i) in straight lines. Both hold the last rate after the last time.
 */
import { parseDuration } from '../core/duration.js';

/** Piecewise-constant (`step`) or piecewise-linear (`ramp`) rate through points (timesMs[i], rates[i]). */
export interface RatePattern {
  kind: 'step' | 'ramp';
  /** Strictly increasing, starting at 0. Same length as `rates`. */
  timesMs: number[];
  /** Requests per second, >= 0. */
  rates: number[];
  /** How it was written, for reports. */
  label: string;
}

/** A pattern error in words (the CLI wraps it with the option name). */
export class PatternError extends Error {
  override name = 'PatternError';
}

/** A constant rate. */
export function constantRate(rps: number): RatePattern {
  if (!(Number.isFinite(rps) && rps >= 0)) throw new PatternError(`rate must be a number >= 0, got ${rps}`);
  return { kind: 'step', timesMs: [0], rates: [rps], label: `${rps} rps` };
}

/** Parses the `--pattern` grammar above; throws a PatternError saying what was expected. */
export function parsePattern(text: string): RatePattern {
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon < 0) return { ...constantRate(rate(s)), label: s };
  const kind = s.slice(0, colon).trim().toLowerCase();
  const body = s.slice(colon + 1).trim();
  if (kind === 'const' || kind === 'constant') return { ...constantRate(rate(body)), label: s };
  if (kind !== 'step' && kind !== 'ramp') {
    throw new PatternError(
      `unknown pattern kind "${kind}" (expected a number, const:N, step:R1,R2@T or ramp:R1,R2@T)`,
    );
  }
  const at = body.indexOf('@');
  if (at < 0) throw new PatternError(`${kind}: expected RATES@TIMES, e.g. ${kind}:10,40@30s`);
  const rates = body.slice(0, at).split(',').map(rate);
  const times = body
    .slice(at + 1)
    .split(',')
    .map((t) => {
      try {
        return parseDuration(t.trim());
      } catch {
        throw new PatternError(`${kind}: "${t.trim()}" is not a duration (expected e.g. 30s, 1m, 500ms)`);
      }
    });
  if (rates.length !== times.length + 1) {
    throw new PatternError(
      `${kind}: ${rates.length} rate(s) need ${rates.length - 1} time(s), got ${times.length}`,
    );
  }
  const timesMs = [0, ...times];
  for (let i = 1; i < timesMs.length; i++) {
    if (!(timesMs[i]! > timesMs[i - 1]!)) {
      throw new PatternError(`${kind}: times must be > 0 and strictly increasing, got ${times.join(',')} ms`);
    }
  }
  return { kind, timesMs, rates, label: s };
}

function rate(text: string): number {
  const t = text.trim();
  if (!/^(\d+\.?\d*|\.\d+)$/.test(t))
    throw new PatternError(`"${t}" is not a rate (expected a number of requests per second >= 0)`);
  return Number(t);
}

/**
 * What {@link traceRate} reads of a parsed trace (the simulator's `Trace`, src/simulator/trace.ts,
 * fits it): declared here, on the consumer's side, so loadgen does not import the simulator.
 */
export interface RateTrace {
  /** The file it came from, for the pattern's label. */
  readonly file: string;
  /** Bucket start times in whole seconds, strictly increasing. */
  readonly t: ArrayLike<number> & Iterable<number>;
  /** Mean requests per second over each bucket. */
  readonly rps: ArrayLike<number> & Iterable<number>;
}

/** A trace as a step pattern: row i's rate × `scale` from its bucket start; gaps hold the last value. */
export function traceRate(trace: RateTrace, scale = 1): RatePattern {
  if (!(Number.isFinite(scale) && scale >= 0))
    throw new PatternError(`scale must be a number >= 0, got ${scale}`);
  const t0 = trace.t[0]!;
  return {
    kind: 'step',
    timesMs: Array.from(trace.t, (t) => (t - t0) * 1000),
    rates: Array.from(trace.rps, (r) => r * scale),
    label: `trace ${trace.file}${scale !== 1 ? ` ×${scale}` : ''}`,
  };
}

/** Index of the last point at or before `tMs`. */
function segmentAt(p: RatePattern, tMs: number): number {
  let lo = 0;
  let hi = p.timesMs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (p.timesMs[mid]! <= tMs) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The offered rate (rps) at `tMs` from the start. */
export function rateAt(p: RatePattern, tMs: number): number {
  if (tMs <= 0) return p.rates[0]!;
  const i = segmentAt(p, tMs);
  if (p.kind === 'step' || i === p.timesMs.length - 1) return p.rates[i]!;
  const [t1, t2, r1, r2] = [p.timesMs[i]!, p.timesMs[i + 1]!, p.rates[i]!, p.rates[i + 1]!];
  return r1 + ((r2 - r1) * (tMs - t1)) / (t2 - t1);
}

/** Arrivals expected from point i to point i + 1 (i.e. over one whole segment). */
function segmentArrivals(p: RatePattern, i: number, endMs: number): number {
  const start = p.timesMs[i]!;
  const seconds = (endMs - start) / 1000;
  const r1 = p.rates[i]!;
  const r2 = p.kind === 'ramp' && i + 1 < p.timesMs.length ? rateAt(p, endMs) : r1;
  return ((r1 + r2) / 2) * seconds;
}

const prefixCache = new WeakMap<RatePattern, Float64Array>();

/** prefix[i] = Λ(timesMs[i]); computed once per pattern so Λ(t) is a binary search, not a scan of a long trace. */
function prefix(p: RatePattern): Float64Array {
  let cum = prefixCache.get(p);
  if (!cum) {
    cum = new Float64Array(p.timesMs.length);
    for (let i = 1; i < p.timesMs.length; i++)
      cum[i] = cum[i - 1]! + segmentArrivals(p, i - 1, p.timesMs[i]!);
    prefixCache.set(p, cum);
  }
  return cum;
}

/**
 * Expected arrivals in [0, tMs]: Λ(t) = ∫₀ᵗ rate(s) ds, with rate in per-second and t in ms.
 * Step segments contribute rate × Δt; ramp segments the trapezoid (r₁ + r(t)) / 2 × Δt.
 */
export function expectedArrivals(p: RatePattern, tMs: number): number {
  if (tMs <= 0) return 0;
  const i = segmentAt(p, tMs);
  return prefix(p)[i]! + segmentArrivals(p, i, tMs);
}
