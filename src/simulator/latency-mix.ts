/**
 * Percentiles over many seconds, each known only by its p50, p95 and p99.
 * Each second's requests are split into quantile bands and every band is placed at its upper
 * end: half at p50, 45 % at p95, the last 5 % at p99. A mixture of identical seconds then gives
 * back exactly their p50 and p95; a mixture of different seconds is over-estimated rather than
 * under-estimated (conservative). Values go into log buckets 1 % wide, so memory is fixed.
 */

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Smallest resolved value, ms; everything at or below lands in bucket 0. */
const FLOOR_MS = 0.01;
/** 0.01 ms .. ~1 day in 1 % steps. */
const BUCKETS = Math.ceil(Math.log(86_400_000 / FLOOR_MS) / LOG_GROWTH) + 1;

/** The quantile bands each second is split into: [level, mass]. */
export const BANDS: ReadonlyArray<readonly [keyof LatencyTriple, number]> = [
  ['p50', 0.5],
  ['p95', 0.45],
  ['p99', 0.05],
];

/** A second's latency percentiles, ms. */
export interface LatencyTriple {
  p50: number;
  p95: number;
  p99: number;
}

/** A request-weighted latency distribution built from per-second percentiles. */
export class LatencyMix {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;

  #last = { p50: NaN, p95: NaN, p99: NaN };
  #b50 = 0;
  #b95 = 0;
  #b99 = 0;

  /** Adds `requests` requests whose second had percentiles `l`. */
  add(l: LatencyTriple, requests: number): void {
    if (!(requests > 0)) return;
    const last = this.#last;
    // Within a trace bucket consecutive seconds repeat: skip the logarithms.
    if (l.p50 !== last.p50 || l.p95 !== last.p95 || l.p99 !== last.p99) {
      last.p50 = l.p50;
      last.p95 = l.p95;
      last.p99 = l.p99;
      this.#b50 = bucketOf(l.p50);
      this.#b95 = bucketOf(l.p95);
      this.#b99 = bucketOf(l.p99);
    }
    this.#counts[this.#b50]! += requests * BANDS[0]![1];
    this.#counts[this.#b95]! += requests * BANDS[1]![1];
    this.#counts[this.#b99]! += requests * BANDS[2]![1];
    this.#total += requests;
  }

  /** Requests added. */
  get total(): number {
    return this.#total;
  }

  /** The p-quantile (0..1) in ms (upper edge of its bucket), 0 when empty. */
  quantile(p: number): number {
    if (this.#total <= 0) return 0;
    const target = p * this.#total * (1 - 1e-12);
    let acc = 0;
    for (let i = 0; i < BUCKETS; i++) {
      acc += this.#counts[i]!;
      if (acc >= target && this.#counts[i]! > 0) return i === 0 ? FLOOR_MS : FLOOR_MS * GROWTH ** i;
    }
    return FLOOR_MS * GROWTH ** (BUCKETS - 1);
  }
}

function bucketOf(ms: number): number {
  if (!(ms > FLOOR_MS)) return 0;
  const i = Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GROWTH - 1e-9);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

/**
 * The same band rule over a short window (a decision interval): exact weighted quantiles of the
 * band points, no buckets. `points` is reused between calls.
 */
export class WindowLatency {
  #values: number[] = [];
  #weights: number[] = [];
  #order: number[] = [];
  #last = { p50: NaN, p95: NaN, p99: NaN };
  #lastAt = -1;

  /** Forgets the window. */
  reset(): void {
    this.#values.length = 0;
    this.#weights.length = 0;
    this.#lastAt = -1;
  }

  /** Adds one second. */
  add(l: LatencyTriple, requests: number): void {
    if (!(requests > 0)) return;
    const last = this.#last;
    const w = this.#weights;
    if (this.#lastAt >= 0 && l.p50 === last.p50 && l.p95 === last.p95 && l.p99 === last.p99) {
      // The same percentiles as the previous second: add weight instead of points.
      const i = this.#lastAt;
      w[i]! += requests * BANDS[0]![1];
      w[i + 1]! += requests * BANDS[1]![1];
      w[i + 2]! += requests * BANDS[2]![1];
      return;
    }
    last.p50 = l.p50;
    last.p95 = l.p95;
    last.p99 = l.p99;
    this.#lastAt = this.#values.length;
    this.#values.push(l.p50, l.p95, l.p99);
    w.push(requests * BANDS[0]![1], requests * BANDS[1]![1], requests * BANDS[2]![1]);
  }

  /** Weighted p-quantile of the window, 0 when empty. */
  quantile(p: number): number {
    const n = this.#values.length;
    if (n === 0) return 0;
    const v = this.#values;
    const w = this.#weights;
    if (n === 3) {
      // One distinct second: its own percentiles (the bands are already in order).
      const total = w[0]! + w[1]! + w[2]!;
      const target = p * total * (1 - 1e-12);
      return target <= w[0]! ? v[0]! : target <= w[0]! + w[1]! ? v[1]! : v[2]!;
    }
    const order = this.#order;
    order.length = n;
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => v[a]! - v[b]!);
    let total = 0;
    for (let i = 0; i < n; i++) total += w[i]!;
    const target = p * total * (1 - 1e-12);
    let acc = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      acc += w[i]!;
      if (acc >= target) return v[i]!;
    }
    return v[order[n - 1]!]!;
  }
}
