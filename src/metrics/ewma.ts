/**
 * Exponentially weighted moving averages with time-based decay: the weight of the old average is
 * w = e^(−Δt/τ), so irregularly spaced samples are weighed by the time they cover (the form used by
 * Finagle's PeakEwma, ingress-nginx, APISIX `ewma` and Kong `latency`, τ = 10 s there).
 */

/** A time-decayed EWMA; `now` is passed in (ms). */
export class Ewma {
  readonly #tauMs: number;
  #value = 0;
  #at = Number.NaN;

  constructor(tauMs = 10_000) {
    if (!(tauMs > 0)) throw new RangeError(`Ewma: tauMs must be > 0, got ${tauMs}`);
    this.#tauMs = tauMs;
  }

  /** Folds `sample` in at time `now`; the first sample becomes the average. */
  observe(now: number, sample: number): void {
    if (this.#at !== this.#at) {
      this.#value = sample;
    } else {
      const dt = now - this.#at;
      const w = dt > 0 ? Math.exp(-dt / this.#tauMs) : 1;
      // a same-instant sample (dt = 0) still moves the average a little, as in Finagle
      this.#value = dt > 0 ? this.#value * w + sample * (1 - w) : (this.#value + sample) / 2;
    }
    this.#at = now;
  }

  /** The average (0 before any sample). */
  get value(): number {
    return this.#value;
  }

  /** Whether any sample was seen. */
  get seeded(): boolean {
    return this.#at === this.#at;
  }
}

/**
 * Peak EWMA (Finagle): a sample above the average replaces it at once, so a slowing instance is
 * penalised immediately; samples below decay towards it with e^(−Δt/τ). `cost` is Finagle's
 * load metric, latency × (outstanding + 1), which the P2C balancer compares between two picks.
 */
export class PeakEwma {
  readonly #tauMs: number;
  #value = 0;
  #at = Number.NaN;

  constructor(tauMs = 10_000) {
    if (!(tauMs > 0)) throw new RangeError(`PeakEwma: tauMs must be > 0, got ${tauMs}`);
    this.#tauMs = tauMs;
  }

  /** Folds one round-trip time (ms) in at `now`. */
  observe(now: number, rttMs: number): void {
    if (this.#at !== this.#at || rttMs > this.#value) {
      this.#value = rttMs;
    } else {
      const dt = now - this.#at;
      const w = dt > 0 ? Math.exp(-dt / this.#tauMs) : 1;
      this.#value = this.#value * w + rttMs * (1 - w);
    }
    this.#at = now;
  }

  /** The peak-weighted latency estimate, ms (0 before any sample). */
  get value(): number {
    return this.#value;
  }

  /** Finagle's load: latency × (outstanding + 1); an unmeasured instance costs `defaultMs`. */
  cost(outstanding: number, defaultMs = 1): number {
    const latency = this.#at === this.#at && this.#value > 0 ? this.#value : defaultMs;
    return latency * (outstanding + 1);
  }
}
