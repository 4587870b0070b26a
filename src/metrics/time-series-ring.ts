/**
 * History at 1 s resolution for the controller and the simulator: one ring per metric holding the
 * last value set in each second. `series` returns a regular series ending at the second of `now`,
 * oldest first, with NaN for seconds that were not recorded (policies skip non-finite points and
 * rely on the spacing, e.g. builtin:kpa seeds its window from it).
 */
import { slot } from './sliding-window.js';

/** One metric's values, one per second, in a fixed ring. */
export class TimeSeriesRing {
  /** How many seconds the ring keeps. */
  readonly seconds: number;
  readonly #values: Float64Array;
  readonly #secs: Float64Array;
  #first = Number.POSITIVE_INFINITY;

  constructor(seconds = 3600) {
    if (!(Number.isInteger(seconds) && seconds >= 1)) {
      throw new RangeError(`TimeSeriesRing: seconds must be an integer >= 1, got ${seconds}`);
    }
    this.seconds = seconds;
    this.#values = new Float64Array(seconds);
    this.#secs = new Float64Array(seconds).fill(Number.NEGATIVE_INFINITY);
  }

  /** Sets the value of the second containing `now` (ms); the last write in a second wins. */
  set(now: number, value: number): void {
    const sec = Math.floor(now / 1000);
    const i = slot(sec, this.seconds);
    if (this.#secs[i]! > sec) return; // older than the ring
    this.#secs[i] = sec;
    this.#values[i] = value;
    if (sec < this.#first) this.#first = sec;
  }

  /** The value recorded for the second containing `at`, or NaN. */
  get(at: number): number {
    const sec = Math.floor(at / 1000);
    const i = slot(sec, this.seconds);
    return this.#secs[i] === sec ? this.#values[i]! : Number.NaN;
  }

  /**
   * Values of the last `seconds` seconds up to the one containing `now`, oldest first, NaN where
   * nothing was recorded; seconds before the first record are left out.
   */
  series(seconds: number, now: number): number[] {
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(0, Math.floor(seconds)), this.seconds);
    const from = Math.max(cur - n + 1, this.#first);
    const out: number[] = [];
    for (let sec = from; sec <= cur; sec++) {
      const i = slot(sec, this.seconds);
      out.push(this.#secs[i] === sec ? this.#values[i]! : Number.NaN);
    }
    return out;
  }
}

/**
 * A history that can be read and written. Its reading half is structurally the policy contract's
 * `HistoryReader` (src/policy/policy.ts), restated here because metrics sits below policy.
 */
export interface HistoryRing {
  /** Values of `metric` over the last `seconds` up to `now`, oldest first. */
  series(metric: string, seconds: number, now: number): number[];
  /** Resolution of `series` in seconds. */
  readonly stepSeconds: number;
  /** Records `value` for `metric` at `now` (ms). */
  record(metric: string, now: number, value: number): void;
  /** Records every finite number in `values` at `now` (ms); nested objects use dotted names. */
  recordAll(now: number, values: Record<string, unknown>): void;
  /** Names of the metrics recorded so far. */
  metrics(): string[];
}

/** Creates an in-memory history (1 s steps, `seconds` kept per metric, default one hour). */
export function createHistoryRing(options: { seconds?: number } = {}): HistoryRing {
  const seconds = options.seconds ?? 3600;
  const rings = new Map<string, TimeSeriesRing>();

  function record(metric: string, now: number, value: number): void {
    let ring = rings.get(metric);
    if (ring === undefined) {
      ring = new TimeSeriesRing(seconds);
      rings.set(metric, ring);
    }
    ring.set(now, value);
  }

  function recordAll(now: number, values: Record<string, unknown>, prefix = ''): void {
    for (const [k, v] of Object.entries(values)) {
      if (typeof v === 'number' && Number.isFinite(v)) record(prefix + k, now, v);
      else if (v !== null && typeof v === 'object' && !Array.isArray(v) && prefix.split('.').length < 3) {
        recordAll(now, v as Record<string, unknown>, `${prefix}${k}.`);
      }
    }
  }

  return {
    stepSeconds: 1,
    series: (metric, secs, now) => rings.get(metric)?.series(secs, now) ?? [],
    record,
    recordAll: (now, values) => recordAll(now, values),
    metrics: () => [...rings.keys()],
  };
}
