/**
 * A level (in-flight requests, queue depth) integrated over time in 1 s buckets, so its average over
 * a window is the time-weighted mean: Knative's "average concurrency" (the area under the
 * concurrency curve divided by the window), not the mean of whatever instants happened to be sampled.
 * By Little's law that average equals arrival rate × time in system, which is what scaling needs.
 */
import { DEFAULT_WINDOW_SECONDS, slot } from './sliding-window.js';

/** Time-weighted average and peak of a level, over 1 s buckets. */
export class TimeWeightedGauge {
  /** How many seconds the ring keeps. */
  readonly seconds: number;
  /** Area (value × ms) per second. */
  readonly #area: Float64Array;
  readonly #max: Float64Array;
  readonly #secs: Float64Array;
  #level = 0;
  #since: number;

  constructor(seconds = DEFAULT_WINDOW_SECONDS, start = 0) {
    if (!(Number.isInteger(seconds) && seconds >= 2)) {
      throw new RangeError(`TimeWeightedGauge: seconds must be an integer >= 2, got ${seconds}`);
    }
    this.seconds = seconds;
    this.#area = new Float64Array(seconds);
    this.#max = new Float64Array(seconds);
    this.#secs = new Float64Array(seconds).fill(-1);
    this.#since = start;
  }

  /** The level now. */
  get level(): number {
    return this.#level;
  }

  /** Moves the level by `delta` at `now` (ms). */
  add(now: number, delta: number): void {
    this.set(now, this.#level + delta);
  }

  /** Sets the level at `now` (ms); the previous level is credited for the time it held. */
  set(now: number, value: number): void {
    if (now > this.#since) {
      this.#integrate(this.#since, now);
      this.#since = now;
    }
    this.#level = value;
    this.#bucket(Math.floor(now / 1000));
    const i = slot(Math.floor(now / 1000), this.seconds);
    if (value > this.#max[i]!) this.#max[i] = value;
  }

  /** Time-weighted mean level over the `windowS` seconds ending at `now`. */
  average(now: number, windowS: number): number {
    const n = Math.min(Math.max(1, windowS), this.seconds - 1);
    const end = now;
    const start = end - n * 1000;
    let area = 0;
    // stored area covers [.., since); buckets overlapping the window are counted pro rata
    const firstSec = Math.floor(start / 1000);
    const lastSec = Math.floor(end / 1000);
    for (let sec = firstSec; sec <= lastSec; sec++) {
      const i = slot(sec, this.seconds);
      if (this.#secs[i] !== sec) continue;
      const b0 = sec * 1000;
      const overlap = Math.min(end, b0 + 1000, this.#since) - Math.max(start, b0);
      const stored = Math.min(b0 + 1000, this.#since) - b0;
      if (overlap > 0 && stored > 0) area += (this.#area[i]! * overlap) / stored;
    }
    // the current level has held since `since`
    const held = end - Math.max(start, this.#since);
    if (held > 0) area += this.#level * held;
    return area / (n * 1000);
  }

  /** Highest level seen in the last `windowS` seconds (the current level included). */
  peak(now: number, windowS: number): number {
    let max = this.#level;
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds);
    for (let sec = cur - n + 1; sec <= cur; sec++) {
      const i = slot(sec, this.seconds);
      if (this.#secs[i] === sec && this.#max[i]! > max) max = this.#max[i]!;
    }
    return max;
  }

  #bucket(sec: number): number {
    const i = slot(sec, this.seconds);
    if (this.#secs[i] !== sec) {
      this.#secs[i] = sec;
      this.#area[i] = 0;
      this.#max[i] = 0;
    }
    return i;
  }

  #integrate(from: number, to: number): void {
    const level = this.#level;
    // at most one lap of buckets matters; older seconds would be overwritten anyway
    const from2 = Math.max(from, to - this.seconds * 1000);
    let sec = Math.floor(from2 / 1000);
    const lastSec = Math.floor(to / 1000);
    for (; sec <= lastSec; sec++) {
      const b0 = sec * 1000;
      const dt = Math.min(to, b0 + 1000) - Math.max(from2, b0);
      if (dt <= 0) continue;
      const i = this.#bucket(sec);
      this.#area[i]! += level * dt;
      if (level > this.#max[i]!) this.#max[i] = level;
    }
  }
}
