/**
 * The simulator's HistoryReader: per-second values of a fixed set of metrics, stored as runs of
 * equal seconds. A steady trace bucket (a minute of constant load on a steady fleet) is one run,
 * so a 30-day replay appends ~10^5 runs instead of writing 13 rings 2.6 million times. Reads
 * give exactly what a 1 s ring (metrics/time-series-ring.ts) gives: the last `seconds` values up
 * to the second containing `now`, oldest first, NaN for seconds not recorded yet.
 */
import type { HistoryReader } from '../policy/policy.js';

/** A run-length history of `names` at 1 s resolution, keeping the last `capacity` seconds. */
export class RunHistory implements HistoryReader {
  readonly stepSeconds = 1;
  readonly #index = new Map<string, number>();
  readonly #width: number;
  #capacity: number;
  // Runs [#head, #runs) are live: run i starts at second #starts[i] with values
  // #values[i·width ..]. Typed arrays that double when full and compact when half is forgotten.
  #starts = new Float64Array(1024);
  #values: Float64Array;
  #runs = 0;
  #head = 0;
  /** The second after the last one recorded. */
  #end = Number.NEGATIVE_INFINITY;

  constructor(names: readonly string[], capacity = 86_400) {
    names.forEach((n, i) => this.#index.set(n, i));
    this.#width = names.length;
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#values = new Float64Array(1024 * this.#width);
  }

  /** Seconds kept. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Keeps at least `seconds` from now on (a policy asked for that much). Seconds already forgotten
   * stay forgotten, so call it before the history fills (the simulator does, on the first read).
   */
  keep(seconds: number): void {
    this.#capacity = Math.max(this.#capacity, Math.floor(seconds));
  }

  /** Records `values` (in `names` order) for `count` seconds starting at second `first` (contiguous). */
  append(first: number, values: ArrayLike<number>, count = 1): void {
    const w = this.#width;
    const runs = this.#runs;
    let same = runs > this.#head && first === this.#end;
    if (same) {
      const stored = this.#values;
      const base = (runs - 1) * w;
      for (let i = 0; i < w; i++) {
        if (!Object.is(stored[base + i], values[i])) {
          same = false;
          break;
        }
      }
    }
    if (!same) {
      if (runs === this.#starts.length) this.#grow();
      const at = this.#runs; // grow() may have moved the runs down
      this.#starts[at] = first;
      const stored = this.#values;
      const base = at * w;
      for (let i = 0; i < w; i++) stored[base + i] = values[i]!;
      this.#runs = at + 1;
    }
    this.#end = first + count;
    // Forget runs that ended before the kept window.
    const keepFrom = this.#end - this.#capacity;
    while (this.#head + 1 < this.#runs && this.#starts[this.#head + 1]! <= keepFrom) this.#head++;
  }

  /** Makes room for more runs: drops forgotten ones when they are half the store, else doubles it. */
  #grow(): void {
    const w = this.#width;
    const head = this.#head;
    const live = this.#runs - head;
    const size = head * 2 >= this.#starts.length ? this.#starts.length : this.#starts.length * 2;
    const starts = new Float64Array(size);
    const values = new Float64Array(size * w);
    starts.set(this.#starts.subarray(head, this.#runs));
    values.set(this.#values.subarray(head * w, this.#runs * w));
    this.#starts = starts;
    this.#values = values;
    this.#runs = live;
    this.#head = 0;
  }

  /** Values of `metric` over the last `seconds` seconds up to the second containing `now` (ms). */
  series(metric: string, seconds: number, now: number): number[] {
    const col = this.#index.get(metric);
    const out: number[] = [];
    if (col === undefined || this.#runs <= this.#head) return out;
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(0, Math.floor(seconds)), this.#capacity);
    const oldestKept = Math.max(this.#starts[this.#head]!, this.#end - this.#capacity);
    const from = Math.max(cur - n + 1, oldestKept);
    if (from > cur) return out;
    // binary search: the last run starting at or before `from`
    let lo = this.#head;
    let hi = this.#runs - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= from) lo = mid;
      else hi = mid - 1;
    }
    let run = lo;
    const w = this.#width;
    for (let sec = from; sec <= cur; sec++) {
      if (sec >= this.#end) {
        out.push(Number.NaN);
        continue;
      }
      while (run + 1 < this.#runs && this.#starts[run + 1]! <= sec) run++;
      out.push(this.#values[run * w + col]!);
    }
    return out;
  }
}
