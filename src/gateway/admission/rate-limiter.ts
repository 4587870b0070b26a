/**
 * The one rate-limiter interface. Every implementation (token bucket, sliding window, and later the
 * cluster-mode Redis limiter) runs the shared contract suite in
 * test/gateway/admission/rate-limiter-contract.ts. Time is passed in: `take(key, now)` is a pure
 * step of the limiter's state, so the simulator and tests drive it with any clock.
 */

/** What one `take` decided, with the figures the RateLimit-* headers report. */
export interface RateLimitVerdict {
  ok: boolean;
  /** The quota: requests allowed in a burst (bucket size / window limit). */
  limit: number;
  /** Requests left right now after this one (integer >= 0). */
  remaining: number;
  /** Seconds until the quota is whole again (integer >= 0). */
  resetS: number;
  /** When denied: seconds until a retry can pass (integer >= 1); 0 when allowed. */
  retryAfterS: number;
}

/** A keyed rate limiter. Local limiters answer synchronously; a remote one may return a promise. */
export interface RateLimiter {
  /** Spends `cost` (default 1) from `key`'s quota at time `now` (ms) if it has enough. */
  take(key: string, now: number, cost?: number): RateLimitVerdict | Promise<RateLimitVerdict>;
  /** Drops keys whose state is back to "full quota" at `now`, bounding memory; returns how many. */
  prune?(now: number): number;
  /** Keys currently holding state. */
  size?(): number;
}

/** Options shared by the local limiters. */
export interface RateLimitOptions {
  /** Sustained rate per key, requests per second (> 0). */
  rps: number;
  /** Burst size: bucket capacity / window limit (default: rps, at least 1). */
  burst?: number;
  /** Keys kept before idle ones are evicted (default 100 000). */
  maxKeys?: number;
}

/** Validated numbers for a limiter. */
export function rateLimitParams(options: RateLimitOptions): { rps: number; burst: number; maxKeys: number } {
  const { rps } = options;
  if (!(Number.isFinite(rps) && rps > 0)) throw new RangeError(`rate_limit.rps must be > 0, got ${rps}`);
  const burst = options.burst ?? Math.max(1, Math.ceil(rps));
  if (!(Number.isFinite(burst) && burst >= 1))
    throw new RangeError(`rate_limit.burst must be >= 1, got ${burst}`);
  const maxKeys = options.maxKeys ?? 100_000;
  return { rps, burst, maxKeys };
}
