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
 * band points, no buckets. The points live in typed arrays reused between windows (a decision
 * reads one every interval, so the window allocates nothing once it has grown).
 */
export class WindowLatency {
  #values = new Float64Array(48);
  #weights = new Float64Array(48);
  #order = new Int32Array(48);
  #n = 0;
  #last = { p50: NaN, p95: NaN, p99: NaN };
  #lastAt = -1;

  /** Forgets the window. */
  reset(): void {
    this.#n = 0;
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
    const n = this.#n;
    if (n + 3 > this.#values.length) this.#grow();
    const v = this.#values;
    const nw = this.#weights;
    this.#lastAt = n;
    v[n] = l.p50;
    v[n + 1] = l.p95;
    v[n + 2] = l.p99;
    nw[n] = requests * BANDS[0]![1];
    nw[n + 1] = requests * BANDS[1]![1];
    nw[n + 2] = requests * BANDS[2]![1];
    this.#n = n + 3;
  }

  #grow(): void {
    const size = this.#values.length * 2;
    const v = new Float64Array(size);
    const w = new Float64Array(size);
    v.set(this.#values);
    w.set(this.#weights);
    this.#values = v;
    this.#weights = w;
    this.#order = new Int32Array(size);
  }

  /** Weighted p-quantile of the window, 0 when empty. */
  quantile(p: number): number {
    const n = this.#n;
    if (n === 0) return 0;
    if (n === 3) return this.#single(p);
    return this.#pick(p, this.#sort());
  }

  /**
   * The window's p50, p95 and p99 into `out`, each exactly as `quantile` gives it; the band
   * points are sorted once for the three (a decision reads all three every interval).
   */
  quantiles(out: LatencyTriple): LatencyTriple {
    const n = this.#n;
    if (n === 0) {
      out.p50 = out.p95 = out.p99 = 0;
    } else if (n === 3) {
      out.p50 = this.#single(0.5);
      out.p95 = this.#single(0.95);
      out.p99 = this.#single(0.99);
    } else {
      const total = this.#sort();
      out.p50 = this.#pick(0.5, total);
      out.p95 = this.#pick(0.95, total);
      out.p99 = this.#pick(0.99, total);
    }
    return out;
  }

  /** One distinct second: its own percentiles (the bands are already in order). */
  #single(p: number): number {
    const v = this.#values;
    const w = this.#weights;
    const total = w[0]! + w[1]! + w[2]!;
    const target = p * total * (1 - 1e-12);
    return target <= w[0]! ? v[0]! : target <= w[0]! + w[1]! ? v[1]! : v[2]!;
  }

  /**
   * Orders the points by value into #order (stable: ties keep insertion order) and returns the
   * total weight, summed in insertion order. A window holds a few points, so an insertion sort
   * beats a comparator sort; both give the one stable order when the values are finite, and
   * anything else takes Array.prototype.sort's comparator order, as before.
   */
  #sort(): number {
    const v = this.#values;
    const w = this.#weights;
    const order = this.#order;
    const n = this.#n;
    let finite = true;
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += w[i]!;
      const x = v[i]!;
      if (!Number.isFinite(x)) finite = false;
      let j = i;
      while (j > 0 && v[order[j - 1]!]! > x) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    if (!finite) {
      const byValue = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
      order.set(byValue);
    }
    return total;
  }

  /** The weighted p-quantile over the points in #order. */
  #pick(p: number, total: number): number {
    const v = this.#values;
    const w = this.#weights;
    const order = this.#order;
    const n = this.#n;
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
