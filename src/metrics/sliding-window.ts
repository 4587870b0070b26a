/**
 * A counter kept in a ring of 1 s buckets (Knative's autoscaler keeps per-second buckets the same
 * way). Each bucket remembers which second it holds, so a slot left over from a lap ago reads as
 * zero and no "advance" loop is ever needed: `add` is O(1) and allocates nothing.
 */

/** Default ring length: 60 s of 1 s buckets is the minimum the gateway keeps (issue 3). */
export const DEFAULT_WINDOW_SECONDS = 60;

/** Per-second counter over a sliding window; rates are read over complete seconds. */
export class SlidingWindow {
  /** How many seconds the ring keeps. */
  readonly seconds: number;
  readonly #values: Float64Array;
  readonly #secs: Float64Array;
  #total = 0;

  constructor(seconds = DEFAULT_WINDOW_SECONDS) {
    if (!(Number.isInteger(seconds) && seconds >= 2)) {
      throw new RangeError(`SlidingWindow: seconds must be an integer >= 2, got ${seconds}`);
    }
    this.seconds = seconds;
    this.#values = new Float64Array(seconds);
    this.#secs = new Float64Array(seconds).fill(-1);
  }

  /** Adds `value` (default 1) to the bucket of the second containing `now` (ms). */
  add(now: number, value = 1): void {
    this.#total += value;
    const sec = Math.floor(now / 1000);
    const i = slot(sec, this.seconds);
    const held = this.#secs[i]!;
    if (held === sec) {
      this.#values[i]! += value;
    } else if (held < sec) {
      // the slot holds a second one lap (or more) ago: it starts over
      this.#secs[i] = sec;
      this.#values[i] = value;
    }
    // else: a sample older than the ring (time passed in out of order); only the total keeps it
  }

  /** Everything ever added (a monotonic counter, for Prometheus `_total`). */
  get total(): number {
    return this.#total;
  }

  /** Sum over the last `windowS` complete seconds before the second containing `now`. */
  sum(now: number, windowS: number): number {
    const last = Math.floor(now / 1000) - 1;
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds - 1);
    let sum = 0;
    for (let sec = last - n + 1; sec <= last; sec++) {
      const i = slot(sec, this.seconds);
      if (this.#secs[i] === sec) sum += this.#values[i]!;
    }
    return sum;
  }

  /**
   * Average per second over the last `windowS` complete seconds. The current, partial second is
   * left out, so a rate lags by at most 1 s but never under-reads a second still filling up.
   */
  rate(now: number, windowS: number): number {
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds - 1);
    return this.sum(now, n) / n;
  }

  /** The value of the bucket for the second containing `at` (0 when not kept). */
  at(at: number): number {
    const sec = Math.floor(at / 1000);
    const i = slot(sec, this.seconds);
    return this.#secs[i] === sec ? this.#values[i]! : 0;
  }
}

/** Ring index of a second; `sec` may be negative before the clock origin. */
export function slot(sec: number, length: number): number {
  const i = sec % length;
  return i < 0 ? i + length : i;
}
