/**
 * Latency percentiles over a sliding window: one HdrHistogram per 1 s bucket (hdr-histogram-js),
 * merged on read. Recording is HdrHistogram's O(1) counter increment; a bucket's histogram is
 * allocated the first time its slot is used and reset, never reallocated, on later laps.
 * Never a sorted array of samples (issue 3).
 */
import { build, type Histogram } from 'hdr-histogram-js';
import { DEFAULT_WINDOW_SECONDS, slot } from './sliding-window.js';

/** Percentiles in milliseconds, with the sample count they rest on. */
export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  count: number;
}

/** Options of a LatencyWindow. */
export interface LatencyWindowOptions {
  /** Seconds kept (default 60). */
  seconds?: number;
  /** Largest latency tracked, ms; larger values are recorded as this (default 10 min). */
  maxMs?: number;
  /** HdrHistogram significant digits: 2 = 1 % relative error (default). */
  digits?: 1 | 2 | 3;
}

/** Values are stored in microseconds so sub-millisecond latencies keep their resolution. */
const US_PER_MS = 1000;

/** Creates one HdrHistogram with the window's precision. */
export function createHistogram(maxMs: number, digits: number): Histogram {
  return build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: Math.max(2, Math.ceil(maxMs * US_PER_MS)),
    numberOfSignificantValueDigits: digits as 1 | 2 | 3,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** A latency histogram per second over a ring, mergeable over any window up to its length. */
export class LatencyWindow {
  /** How many seconds the ring keeps. */
  readonly seconds: number;
  readonly #maxUs: number;
  readonly #digits: number;
  readonly #maxMs: number;
  readonly #slots: (Histogram | undefined)[];
  readonly #secs: Float64Array;
  #scratch: Histogram | undefined;
  #count = 0;
  #sumMs = 0;

  constructor(options: LatencyWindowOptions = {}) {
    const seconds = options.seconds ?? DEFAULT_WINDOW_SECONDS;
    if (!(Number.isInteger(seconds) && seconds >= 2)) {
      throw new RangeError(`LatencyWindow: seconds must be an integer >= 2, got ${seconds}`);
    }
    this.seconds = seconds;
    this.#maxMs = options.maxMs ?? 600_000;
    this.#maxUs = Math.ceil(this.#maxMs * US_PER_MS);
    this.#digits = options.digits ?? 2;
    this.#slots = new Array<Histogram | undefined>(seconds).fill(undefined);
    this.#secs = new Float64Array(seconds).fill(-1);
  }

  /** Records one latency `ms` observed at `now` (ms). Negative or NaN values are ignored. */
  record(now: number, ms: number): void {
    if (!(ms >= 0)) return;
    this.#count++;
    this.#sumMs += ms;
    const sec = Math.floor(now / 1000);
    const i = slot(sec, this.seconds);
    let h = this.#slots[i];
    const held = this.#secs[i]!;
    if (held !== sec) {
      if (held > sec) return; // older than the ring
      if (h === undefined) {
        h = createHistogram(this.#maxMs, this.#digits);
        this.#slots[i] = h;
      } else {
        h.reset();
      }
      this.#secs[i] = sec;
    }
    const us = Math.round(ms * US_PER_MS);
    h!.recordValue(us < 1 ? 1 : us > this.#maxUs ? this.#maxUs : us);
  }

  /** Samples ever recorded (for Prometheus `_count`). */
  get totalCount(): number {
    return this.#count;
  }

  /** Sum of every latency ever recorded, ms (for Prometheus `_sum`). */
  get totalMs(): number {
    return this.#sumMs;
  }

  /**
   * Merges the buckets of the last `windowS` seconds (the current second included) into one
   * histogram. The result is a scratch object reused by the next call: read it, do not keep it.
   */
  merged(now: number, windowS: number): Histogram {
    const scratch = (this.#scratch ??= createHistogram(this.#maxMs, this.#digits));
    scratch.reset();
    this.addTo(scratch, now, windowS);
    return scratch;
  }

  /** Adds this window's buckets of the last `windowS` seconds into `into` (same precision). */
  addTo(into: Histogram, now: number, windowS: number): void {
    const cur = Math.floor(now / 1000);
    const n = Math.min(Math.max(1, Math.floor(windowS)), this.seconds);
    for (let sec = cur - n + 1; sec <= cur; sec++) {
      const i = slot(sec, this.seconds);
      const h = this.#slots[i];
      if (h !== undefined && this.#secs[i] === sec) into.add(h);
    }
  }

  /** p50, p95, p99, mean and max in ms over the last `windowS` seconds (zeros when empty). */
  percentiles(now: number, windowS: number): LatencyPercentiles {
    return summarize(this.merged(now, windowS));
  }
}

/** Reads percentiles (ms) out of a microsecond histogram. */
export function summarize(h: Histogram): LatencyPercentiles {
  const count = h.totalCount;
  if (count === 0) return { p50: 0, p95: 0, p99: 0, mean: 0, max: 0, count: 0 };
  return {
    p50: h.getValueAtPercentile(50) / US_PER_MS,
    p95: h.getValueAtPercentile(95) / US_PER_MS,
    p99: h.getValueAtPercentile(99) / US_PER_MS,
    mean: h.mean / US_PER_MS,
    max: h.maxValue / US_PER_MS,
    count,
  };
}
