/**
 * Sliding-window counter per key (APISIX `limit-count` window_type "sliding", Cloudflare's
 * approximation): windows of W = burst / rps seconds aligned to the clock, and the estimate
 * count = prev · (1 − elapsed/W) + cur must stay ≤ burst. Stricter than a token bucket: a key
 * cannot spend a full burst twice across a window boundary.
 */
import {
  rateLimitParams,
  type RateLimiter,
  type RateLimitOptions,
  type RateLimitVerdict,
} from './rate-limiter.js';

interface Window {
  start: number;
  cur: number;
  prev: number;
}

/** Keyed sliding-window limiter: at most `burst` per `burst / rps` seconds, smoothly. */
export class SlidingWindowLimiter implements RateLimiter {
  readonly rps: number;
  readonly burst: number;
  /** Window length in ms. */
  readonly windowMs: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, Window>();

  constructor(options: RateLimitOptions) {
    const p = rateLimitParams(options);
    this.rps = p.rps;
    this.burst = p.burst;
    this.windowMs = (p.burst / p.rps) * 1000;
    this.#maxKeys = p.maxKeys;
  }

  /** Counts `cost` against `key` at `now` if the sliding estimate leaves room. */
  take(key: string, now: number, cost = 1): RateLimitVerdict {
    const W = this.windowMs;
    let w = this.#windows.get(key);
    const start = Math.floor(now / W) * W;
    if (w === undefined) {
      if (this.#windows.size >= this.#maxKeys) this.#evict(now);
      w = { start, cur: 0, prev: 0 };
      this.#windows.set(key, w);
    } else if (start > w.start) {
      // one window later the current count becomes the previous one; later than that, both are 0
      w.prev = start - w.start === W ? w.cur : 0;
      w.cur = 0;
      w.start = start;
    }
    const elapsed = Math.min(W, Math.max(0, now - w.start));
    const weight = 1 - elapsed / W;
    const estimate = w.prev * weight + w.cur;
    const limit = this.burst;
    const ok = estimate + cost <= limit + 1e-9;
    if (ok) w.cur += cost;
    const after = ok ? estimate + cost : estimate;
    return {
      ok,
      limit,
      remaining: Math.max(0, Math.floor(limit - after + 1e-9)),
      resetS: Math.max(0, Math.ceil(this.#untilBelow(w, now, 0) / 1000)),
      retryAfterS: ok ? 0 : Math.max(1, Math.ceil(this.#untilBelow(w, now, limit - cost) / 1000)),
    };
  }

  /** Forgets keys whose windows no longer count anything at `now`. */
  prune(now: number): number {
    let n = 0;
    for (const [key, w] of this.#windows) {
      if (now >= w.start + 2 * this.windowMs || (w.cur === 0 && now >= w.start + this.windowMs)) {
        this.#windows.delete(key);
        n++;
      }
    }
    return n;
  }

  /** Keys holding state. */
  size(): number {
    return this.#windows.size;
  }

  /** Milliseconds from `now` until the estimate is ≤ `target` (the estimate only falls with time). */
  #untilBelow(w: Window, now: number, target: number): number {
    const W = this.windowMs;
    // within the current window the estimate falls linearly at prev/W per ms
    const room = target - w.cur;
    if (room >= 0) {
      if (w.prev <= room) return 0;
      const t = w.start + W * (1 - room / w.prev);
      return Math.max(0, t - now);
    }
    // next window: estimate = cur · (1 − x/W); need cur · (1 − x/W) ≤ target
    const x = target <= 0 ? W : W * (1 - target / w.cur);
    return Math.max(0, w.start + W + x - now);
  }

  #evict(now: number): void {
    if (this.prune(now) > 0) return;
    const first = this.#windows.keys().next();
    if (!first.done) this.#windows.delete(first.value);
  }
}
