/**
 * Envoy's adaptive concurrency gradient controller (docs: configuration/http/http_filters/
 * adaptive_concurrency_filter.rst; source: filters/http/adaptive_concurrency/controller/
 * gradient_controller.cc), as a pure state machine with time passed in.
 *
 *   gradient = clamp(minRTT · (1 + buffer) / sampleRTT, 0.5, 2.0)
 *   limit'   = clamp(L · gradient + √(L · gradient), min_concurrency, max_concurrency_limit)
 *
 * √(L·g) is Envoy's "burst headroom" (stat `burst_queue_size`): room for queueing above the ideal.
 * sampleRTT is a percentile (default p50) of the latencies of one `updateIntervalMs` window.
 *
 * States:  measuring ──(requestCount samples)──▶ adjusting ──(interval + jitter)──▶ measuring
 *  - measuring: concurrency pinned to `minConcurrency`, minRTT = percentile of `requestCount`
 *    samples; the limit from before is restored afterwards (Envoy's deferred limit).
 *  - adjusting: at the end of each update window with samples, the limit follows the gradient.
 *    Five windows in a row ending at the minimum limit trigger a new minRTT measurement (the old
 *    minRTT was probably wrong), as Envoy does.
 */
import type { Histogram } from 'hdr-histogram-js';
import { createHistogram } from '../../metrics/latency-window.js';

/** Gradient controller parameters (Envoy's names, ms units, Envoy's defaults). */
export interface GradientOptions {
  /** Percentile of a window's latencies used as sampleRTT, 0..100 (default 50). */
  sampleAggregatePercentile?: number;
  /** Length of a sampling window, ms (default 100). */
  updateIntervalMs?: number;
  /** Upper bound of the limit (default 1000). */
  maxConcurrencyLimit?: number;
  /** Time between minRTT measurements, ms (default 60 000). */
  minRttIntervalMs?: number;
  /** Samples a minRTT measurement takes (default 50). */
  minRttRequestCount?: number;
  /** Random extra delay before a measurement, percent of the interval (default 15). */
  jitterPercent?: number;
  /** Concurrency while measuring minRTT, and the lower bound of the limit (default 3). */
  minConcurrency?: number;
  /** Tolerated latency above minRTT, percent (default 25). */
  bufferPercent?: number;
  /** Random source in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

/** What the controller exposes as metrics (Envoy's stats). */
export interface GradientStats {
  state: 'measuring' | 'adjusting';
  limit: number;
  minRttMs: number;
  sampleRttMs: number;
  gradient: number;
  /** √(L·g) of the last update: Envoy's burst headroom. */
  burstHeadroom: number;
}

const WINDOWS_AT_MIN_BEFORE_REMEASURE = 5;

/** An adaptive concurrency limit that follows the RTT gradient. */
export class GradientController {
  readonly #percentile: number;
  readonly #updateMs: number;
  readonly #max: number;
  readonly #minRttIntervalMs: number;
  readonly #requestCount: number;
  readonly #jitter: number;
  readonly #min: number;
  readonly #buffer: number;
  readonly #random: () => number;
  readonly #hist: Histogram;

  #state: 'measuring' | 'adjusting' = 'measuring';
  #limit: number;
  #deferredLimit: number;
  #minRttMs = 0;
  #sampleRttMs = 0;
  #gradient = 1;
  #burst = 0;
  #windowEnd = Number.NaN;
  #nextMeasureAt = Number.POSITIVE_INFINITY;
  #windowsAtMin = 0;

  constructor(options: GradientOptions = {}) {
    this.#percentile = options.sampleAggregatePercentile ?? 50;
    this.#updateMs = options.updateIntervalMs ?? 100;
    this.#max = options.maxConcurrencyLimit ?? 1000;
    this.#minRttIntervalMs = options.minRttIntervalMs ?? 60_000;
    this.#requestCount = options.minRttRequestCount ?? 50;
    this.#jitter = (options.jitterPercent ?? 15) / 100;
    this.#min = options.minConcurrency ?? 3;
    this.#buffer = (options.bufferPercent ?? 25) / 100;
    this.#random = options.random ?? Math.random;
    if (!(this.#min >= 1 && this.#max >= this.#min)) {
      throw new RangeError(
        `adaptive: need 1 <= minConcurrency (${this.#min}) <= maxConcurrencyLimit (${this.#max})`,
      );
    }
    if (!(this.#updateMs > 0 && this.#minRttIntervalMs > 0 && this.#requestCount >= 1)) {
      throw new RangeError('adaptive: updateIntervalMs, minRttIntervalMs and minRttRequestCount must be > 0');
    }
    if (!(this.#percentile > 0 && this.#percentile <= 100)) {
      throw new RangeError(
        `adaptive: sampleAggregatePercentile must be in (0, 100], got ${this.#percentile}`,
      );
    }
    this.#limit = this.#min;
    this.#deferredLimit = this.#min;
    // latencies up to 10 min, 2 significant digits (1 %), values in µs
    this.#hist = createHistogram(600_000, 2);
  }

  /** The current concurrency limit at `now` (advances the windows first). */
  limit(now: number): number {
    this.tick(now);
    return this.#limit;
  }

  /** Records one request's round-trip time (ms) finished at `now`. */
  sample(now: number, rttMs: number): void {
    this.tick(now);
    if (!(rttMs >= 0)) return;
    const us = Math.round(rttMs * 1000);
    this.#hist.recordValue(us < 1 ? 1 : us > 600_000_000 ? 600_000_000 : us);
    if (this.#state === 'measuring' && this.#hist.totalCount >= this.#requestCount) this.#endMeasurement(now);
  }

  /** Closes sampling windows and starts a due minRTT measurement; call with any `now`. */
  tick(now: number): void {
    if (this.#state === 'measuring') return;
    if (now >= this.#nextMeasureAt) {
      this.#startMeasurement();
      return;
    }
    if (now >= this.#windowEnd) {
      this.#closeWindow();
      this.#windowEnd = now + this.#updateMs;
      if (this.#windowsAtMin >= WINDOWS_AT_MIN_BEFORE_REMEASURE) this.#startMeasurement();
    }
  }

  /** Envoy's stats, for metrics and the admin API. */
  stats(): GradientStats {
    return {
      state: this.#state,
      limit: this.#limit,
      minRttMs: this.#minRttMs,
      sampleRttMs: this.#sampleRttMs,
      gradient: this.#gradient,
      burstHeadroom: this.#burst,
    };
  }

  #startMeasurement(): void {
    this.#deferredLimit = this.#limit;
    this.#limit = this.#min;
    this.#state = 'measuring';
    this.#windowsAtMin = 0;
    // samples from before the measurement may not represent the minimum: drop them (Envoy does)
    this.#hist.reset();
  }

  #endMeasurement(now: number): void {
    this.#minRttMs = this.#hist.getValueAtPercentile(this.#percentile) / 1000;
    this.#hist.reset();
    this.#state = 'adjusting';
    this.#limit = this.#deferredLimit;
    this.#windowEnd = now + this.#updateMs;
    // Envoy: applyJitter(interval, jitter%) adds a random 0..jitter% of the interval
    this.#nextMeasureAt = now + this.#minRttIntervalMs * (1 + this.#random() * this.#jitter);
  }

  #closeWindow(): void {
    if (this.#hist.totalCount === 0) return;
    this.#sampleRttMs = this.#hist.getValueAtPercentile(this.#percentile) / 1000;
    this.#hist.reset();
    const buffered = this.#minRttMs * (1 + this.#buffer);
    const raw = this.#sampleRttMs > 0 ? buffered / this.#sampleRttMs : 2;
    this.#gradient = Math.min(2, Math.max(0.5, raw));
    const scaled = this.#limit * this.#gradient;
    this.#burst = Math.sqrt(scaled);
    const old = this.#limit;
    // Envoy truncates to an integer limit before clamping
    this.#limit = Math.max(this.#min, Math.min(this.#max, Math.floor(scaled + this.#burst)));
    this.#windowsAtMin = old === this.#min && this.#limit === this.#min ? this.#windowsAtMin + 1 : 0;
  }
}
