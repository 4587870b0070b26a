/**
 * Token bucket per key (Envoy's local rate limit, AWS API Gateway throttling): a bucket of `burst`
 * tokens refills continuously at `rps` tokens per second; a request spends one. Lazy refill on
 * `take`, so no timer: tokens(now) = min(burst, tokens + (now − at) · rps / 1000).
 */
import {
  rateLimitParams,
  type RateLimiter,
  type RateLimitOptions,
  type RateLimitVerdict,
} from './rate-limiter.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Keyed token-bucket limiter; bursty up to `burst`, `rps` sustained. */
export class TokenBucket implements RateLimiter {
  readonly rps: number;
  readonly burst: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions) {
    const p = rateLimitParams(options);
    this.rps = p.rps;
    this.burst = p.burst;
    this.#perMs = p.rps / 1000;
    this.#maxKeys = p.maxKeys;
  }

  /** Spends `cost` tokens of `key` at `now` if the bucket holds them. */
  take(key: string, now: number, cost = 1): RateLimitVerdict {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    } else if (now > b.at) {
      // time going backwards (a `now` captured earlier) refills nothing and keeps `at`
      const t = b.tokens + (now - b.at) * this.#perMs;
      b.tokens = t > this.burst ? this.burst : t;
      b.at = now;
    }
    const ok = b.tokens >= cost;
    if (ok) b.tokens -= cost;
    const deficit = cost - b.tokens;
    return {
      ok,
      limit: this.burst,
      remaining: Math.max(0, Math.floor(b.tokens)),
      resetS: Math.max(0, Math.ceil((this.burst - b.tokens) / this.rps)),
      retryAfterS: ok ? 0 : Math.max(1, Math.ceil(deficit / this.rps)),
    };
  }

  /** Forgets buckets that have refilled to full: a fresh bucket behaves the same. */
  prune(now: number): number {
    let n = 0;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.burst) {
        this.#buckets.delete(key);
        n++;
      }
    }
    return n;
  }

  /** Keys holding state. */
  size(): number {
    return this.#buckets.size;
  }

  #evict(now: number): void {
    if (this.prune(now) > 0) return;
    // every key is active: drop the oldest inserted (Map keeps insertion order)
    const first = this.#buckets.keys().next();
    if (!first.done) this.#buckets.delete(first.value);
  }
}
