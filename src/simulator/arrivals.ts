/**
 * Turns a trace's buckets into arrivals per simulated second.
 * Deterministic (no seed): each second of a bucket gets the bucket's rate × scale, a fluid that
 * may be fractional. With a seed: each second gets a Poisson(rate × scale) count from a seeded
 * generator, so runs repeat exactly. Gaps hold the last bucket's rate (see trace.ts).
 */
import type { Trace } from './trace.js';
import { poisson, seededRandom } from './random.js';

/** How to spread a trace's buckets over seconds. */
export interface ArrivalOptions {
  /** Multiplies every rate (the shared traces are small; `--scale`). Default 1. */
  scale?: number;
  /** Poisson arrivals from this seed; undefined: deterministic even spreading. */
  seed?: number;
}

/** Yields the requests arriving in each successive second; `remaining` counts down to 0. */
export interface Arrivals {
  /** Seconds the trace covers (one value per second). */
  readonly seconds: number;
  /** The arrivals of the next second (call at most `seconds` times). */
  next(): number;
  /** How many seconds after the one `next()` just returned repeat its value exactly (0 when random). */
  repeats(): number;
  /** Skips `k` seconds that repeat the last value (k <= repeats()). */
  skip(k: number): void;
}

/** A cursor over a trace's arrivals, second by second, O(1) per call and no per-second array. */
export function arrivals(trace: Trace, options: ArrivalOptions = {}): Arrivals {
  const scale = options.scale ?? 1;
  const random = options.seed === undefined ? undefined : seededRandom(options.seed);
  const t0 = trace.t[0]!;
  const rows = trace.t.length;
  let row = 0;
  let second = 0;
  // A row's rate holds until the next row starts: that covers its own bucket and any gap after it.
  let nextRowAt = rows > 1 ? trace.t[1]! - t0 : Infinity;
  let rate = trace.rps[0]! * scale;
  return {
    seconds: trace.durationSeconds,
    next(): number {
      while (second >= nextRowAt) {
        row++;
        rate = trace.rps[row]! * scale;
        nextRowAt = row + 1 < rows ? trace.t[row + 1]! - t0 : Infinity;
      }
      second++;
      return random ? poisson(random, rate) : rate;
    },
    repeats(): number {
      if (random) return 0;
      return Math.min(nextRowAt, trace.durationSeconds) - second;
    },
    skip(k: number): void {
      second += k;
    },
  };
}
