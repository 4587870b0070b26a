/**
 * Sampled gauge over a ring of 1 s buckets: each bucket keeps the sum, count and max of the samples
 * taken in that second (event-loop lag readings, queue waits). O(1), allocation-free `record`.
 */
import { DEFAULT_WINDOW_SECONDS, slot } from './sliding-window.js';

/** Mean, max and last of samples over a sliding window of 1 s buckets. */
export class GaugeWindow {
  /** How many seconds the ring keeps. */
  readonly seconds: number;
  readonly #sum: Float64Array;
  readonly #count: Float64Array;
  readonly #max: Float64Array;
  readonly #secs: Float64Array;
  #last = 0;

  constructor(seconds = DEFAULT_WINDOW_SECONDS) {
    if (!(Number.isInteger(seconds) && seconds >= 2)) {
      throw new RangeError(`GaugeWindow: seconds must be an integer >= 2, got ${seconds}`);
    }
    this.seconds = seconds;
    this.#sum = new Float64Array(seconds);
    this.#count = new Float64Array(seconds);
    this.#max = new Float64Array(seconds);
    this.#secs = new Float64Array(seconds).fill(-1);
  }

  /** Records one sample taken at `now` (ms). */
  record(now: number, value: number): void {
    this.#last = value;
    const sec = Math.floor(now / 1000);
    const i = slot(sec, this.seconds);
    const held = this.#secs[i]!;
    if (held === sec) {
      this.#sum[i]! += value;
      this.#count[i]! += 1;
      if (value > this.#max[i]!) this.#max[i] = value;
    } else if (held < sec) {
      this.#secs[i] = sec;
      this.#sum[i] = value;
      this.#count[i] = 1;
      this.#max[i] = value;
    }
  }

  /** The most recent sample (0 before any). */
  get last(): number {
    return this.#last;
  }

  /** Mean of the samples in the last `windowS` seconds, current second included (0 when none). */
  mean(now: number, windowS: number): number {
    let sum = 0;
    let count = 0;
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds);
    for (let sec = cur - n + 1; sec <= cur; sec++) {
      const i = slot(sec, this.seconds);
      if (this.#secs[i] === sec) {
        sum += this.#sum[i]!;
        count += this.#count[i]!;
      }
    }
    return count === 0 ? 0 : sum / count;
  }

  /** Largest sample in the last `windowS` seconds, current second included (0 when none). */
  max(now: number, windowS: number): number {
    let max = 0;
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds);
    for (let sec = cur - n + 1; sec <= cur; sec++) {
      const i = slot(sec, this.seconds);
      if (this.#secs[i] === sec && this.#max[i]! > max) max = this.#max[i]!;
    }
    return max;
  }

  /** Number of samples in the last `windowS` seconds, current second included. */
  count(now: number, windowS: number): number {
    let count = 0;
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds);
    for (let sec = cur - n + 1; sec <= cur; sec++) {
      const i = slot(sec, this.seconds);
      if (this.#secs[i] === sec) count += this.#count[i]!;
    }
    return count;
  }
}
