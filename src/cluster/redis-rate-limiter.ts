/**
 * The cluster-wide rate limiter: one token bucket per key lives in Redis, and each gateway leases
 * small batches of its tokens with one atomic script call, then spends them locally. Most requests
 * are decided from the local lease without a round trip; a token is minted once, by the script, so
 * the gateways together never admit more than the bucket allows: admitted ≤ burst + rps × T (+ the
 * rps × skew of clocks that disagree by `skew` ms; callers pass `now` from their own clock).
 *
 * Per key on this gateway:
 *
 *   lease holds tokens ──take──▶ spend locally (sync, no round trip)
 *        │ empty / too few                      ▲
 *        │ bucket provably short (it held r at t0, refills ≤ rps) ──▶ 429 locally, no round trip
 *        ▼                                      │ granted
 *   EVALSHA lease(need, extra) ──────────────────┘── denied ──▶ 429, Retry-After from Redis' deficit
 *        │ Redis down / error
 *        ▼
 *   local fallback: a TokenBucket of rps/n, burst/n (n = gateways known alive) for `retryMs`
 *
 * Batch size adapts per key: it doubles while leases run out within a quarter of `leaseMs` and
 * halves when a lease expires unspent, up to `maxBatch` (default burst/10): with 3 gateways, a
 * 300-token bucket costs about one round trip per 30 requests, and tokens stranded in an idle
 * gateway's lease are at most 3 × 30 (an under-admission, never an over-admission). Leased tokens
 * expire after `leaseMs` so that tokens minted long ago cannot add a burst on top of a full bucket.
 */
import type { Redis } from 'ioredis';
import {
  rateLimitParams,
  type RateLimiter,
  type RateLimitOptions,
  type RateLimitVerdict,
} from '../gateway/admission/rate-limiter.js';
import { TokenBucket } from '../gateway/admission/token-bucket.js';
import { redisScript } from './redis-script.js';

/**
 * KEYS[1] bucket; ARGV rps, burst, now (ms), need, extra. Refills lazily as the local TokenBucket
 * does (tokens = min(burst, tokens + Δt · rps / 1000), never for Δt < 0), grants `need` or nothing,
 * plus up to `extra` whole tokens more. Replies {granted, tokens left as a string}: Lua numbers
 * would be truncated to integers in the reply.
 */
const LEASE_LUA = `
local rps = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local need = tonumber(ARGV[4])
local extra = tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rps / 1000)
  at = now
end
local granted = 0
if tokens >= need then
  local more = math.floor(tokens - need)
  if more > extra then more = extra end
  if more < 0 then more = 0 end
  granted = need + more
  tokens = tokens - granted
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rps * 1000) + 60000)
return {granted, tostring(tokens)}
`;
const lease = redisScript(LEASE_LUA);

/** Options of the Redis limiter. */
export interface RedisRateLimiterOptions extends RateLimitOptions {
  redis: Redis;
  /** Prefix of the bucket keys, e.g. `luascale:rl:api:` (the service keeps limits apart). */
  prefix: string;
  /** Most tokens leased in one round trip (default max(1, floor(burst / 10))). */
  maxBatch?: number;
  /** Leased tokens left unspent this long (ms) are dropped (default 1000). */
  leaseMs?: number;
  /** Gateways sharing the limit, for the outage fallback of rps/n (default 1). */
  gateways?: () => number;
  /** After a Redis error, decide locally for this long, on the caller's clock (ms, default 1000). */
  retryMs?: number;
  /** A lease slower than this (real ms) is treated as an error: a hung Redis must not stall requests (default 250). */
  timeoutMs?: number;
}

interface LocalLease {
  tokens: number;
  expiresAt: number;
  grantedAt: number;
  batch: number;
  /** Tokens left in Redis at our last call, and when (the caller's clock; NaN before any call). */
  remote: number;
  remoteAt: number;
  /** When Redis last said no (the caller's clock): the key is saturated for a while after. */
  deniedAt: number;
  pending: Promise<void> | undefined;
}

/** Where the last decision came from; for metrics and tests. */
export interface RedisRateLimiterStats {
  /** Allowed from the local lease. */
  local: number;
  /** Denied locally: the shared bucket could not have refilled enough yet. */
  localDenied: number;
  remote: number;
  fallback: number;
  errors: number;
}

/** RateLimiter shared by every gateway through Redis, with local leases and an outage fallback. */
export class RedisRateLimiter implements RateLimiter {
  readonly rps: number;
  readonly burst: number;
  readonly stats: RedisRateLimiterStats = { local: 0, localDenied: 0, remote: 0, fallback: 0, errors: 0 };
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #leaseMs: number;
  readonly #retryMs: number;
  readonly #timeoutMs: number;
  readonly #maxKeys: number;
  readonly #gateways: () => number;
  readonly #leases = new Map<string, LocalLease>();
  #localUntil = Number.NEGATIVE_INFINITY;
  #fallback: TokenBucket | undefined;
  #fallbackN = 0;

  constructor(options: RedisRateLimiterOptions) {
    const p = rateLimitParams(options);
    this.rps = p.rps;
    this.burst = p.burst;
    this.#maxKeys = p.maxKeys;
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#maxBatch = Math.max(1, Math.floor(options.maxBatch ?? p.burst / 10));
    this.#leaseMs = options.leaseMs ?? 1000;
    this.#retryMs = options.retryMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 250;
    this.#gateways = options.gateways ?? (() => 1);
  }

  /** Spends from the local lease when it covers `cost`; otherwise leases from Redis (one round trip). */
  take(key: string, now: number, cost = 1): RateLimitVerdict | Promise<RateLimitVerdict> {
    let s = this.#leases.get(key);
    if (s === undefined) {
      if (this.#leases.size >= this.#maxKeys) this.prune(now);
      s = {
        tokens: 0,
        expiresAt: 0,
        grantedAt: 0,
        batch: 1,
        remote: this.burst,
        remoteAt: Number.NaN,
        deniedAt: Number.NEGATIVE_INFINITY,
        pending: undefined,
      };
      this.#leases.set(key, s);
    }
    if (s.tokens > 0 && now >= s.expiresAt) {
      // the lease went stale unspent: it was too big for this gateway's share of the traffic
      s.tokens = 0;
      s.batch = Math.max(1, s.batch >> 1);
    }
    if (s.tokens >= cost) {
      s.tokens -= cost;
      this.stats.local++;
      return this.#allowed(s);
    }
    if (s.pending !== undefined) {
      // one lease in flight per key: wait for it, then decide again
      return s.pending.then(() => this.take(key, now, cost));
    }
    if (now < this.#localUntil || this.#redis.status !== 'ready') return this.#fallbackTake(key, now, cost);
    // Deny locally while the shared bucket provably lacks the tokens: it held `remote` at
    // `remoteAt` and refills at rps at most; other gateways can only have taken more since.
    // Saturated (Redis said no within the last lease time): wait until a whole batch can have
    // refilled before asking again. Tokens are not lost meanwhile, they wait in the bucket, so
    // the admitted rate stays rps while round trips drop by the batch size.
    const need = cost - s.tokens;
    const bound = Math.min(this.burst, s.remote + (Math.max(0, now - s.remoteAt) * this.rps) / 1000);
    const saturated = now - s.deniedAt < this.#leaseMs;
    if (bound < need || (saturated && bound < Math.min(s.batch, this.burst))) {
      this.stats.localDenied++;
      return {
        ok: false,
        limit: this.burst,
        remaining: 0,
        resetS: Math.max(0, Math.ceil((this.burst - bound) / this.rps)),
        retryAfterS: Math.max(1, Math.ceil((need - bound) / this.rps)),
      };
    }
    return this.#lease(key, s, now, cost);
  }

  /** Forgets keys with nothing leased and nothing pending. */
  prune(now: number): number {
    let n = 0;
    for (const [key, s] of this.#leases) {
      if (s.pending === undefined && (s.tokens <= 0 || now >= s.expiresAt)) {
        this.#leases.delete(key);
        n++;
      }
    }
    n += this.#fallback?.prune(now) ?? 0;
    return n;
  }

  /** Keys holding a lease. */
  size(): number {
    return this.#leases.size;
  }

  async #lease(key: string, s: LocalLease, now: number, cost: number): Promise<RateLimitVerdict> {
    const need = cost - s.tokens;
    // the last lease ran out fast: lease more per round trip next time
    if (s.grantedAt > 0 && now - s.grantedAt < this.#leaseMs / 4)
      s.batch = Math.min(this.#maxBatch, s.batch * 2);
    const extra = Math.max(0, s.batch - need);
    let reply: [number, string];
    let settle!: () => void;
    s.pending = new Promise<void>((r) => (settle = r));
    const call = lease.run(
      this.#redis,
      [this.#prefix + key],
      [this.rps, this.burst, now, need, extra],
    ) as Promise<[number, string]>;
    let timer: NodeJS.Timeout | undefined;
    try {
      reply = await Promise.race([
        call,
        new Promise<never>((_, reject) => {
          // internal: caught just below, where the limiter falls back to deciding locally
          timer = setTimeout(() => reject(new Error('lease timed out')), this.#timeoutMs);
          timer.unref?.();
        }),
      ]);
    } catch {
      // a late reply still carries tokens minted for us: keep them rather than waste them
      call.then(
        (r) => {
          if (Number(r[0]) > 0) {
            s.tokens += Number(r[0]);
            s.expiresAt = Math.max(s.expiresAt, now + this.#leaseMs);
          }
        },
        () => undefined,
      );
      this.stats.errors++;
      this.#localUntil = now + this.#retryMs;
      return this.#fallbackTake(key, now, cost);
    } finally {
      clearTimeout(timer);
      s.pending = undefined;
      settle();
    }
    this.stats.remote++;
    const granted = Number(reply[0]);
    const left = Number(reply[1]);
    // a clock behind the last call's must not move the bound's origin back
    if (!(now < s.remoteAt)) {
      s.remote = left;
      s.remoteAt = now;
    }
    if (granted >= need) {
      s.tokens = (s.tokens > 0 && now < s.expiresAt ? s.tokens : 0) + granted - cost;
      if (s.tokens < 0) s.tokens = 0;
      s.expiresAt = now + this.#leaseMs;
      s.grantedAt = now;
      return this.#allowed(s);
    }
    s.deniedAt = now;
    return {
      ok: false,
      limit: this.burst,
      remaining: 0,
      resetS: Math.max(0, Math.ceil((this.burst - left) / this.rps)),
      retryAfterS: Math.max(1, Math.ceil((need - left) / this.rps)),
    };
  }

  #allowed(s: LocalLease): RateLimitVerdict {
    const have = s.tokens + s.remote;
    return {
      ok: true,
      limit: this.burst,
      remaining: Math.max(0, Math.floor(have)),
      resetS: Math.max(0, Math.ceil((this.burst - have) / this.rps)),
      retryAfterS: 0,
    };
  }

  #fallbackTake(key: string, now: number, cost: number): RateLimitVerdict {
    this.stats.fallback++;
    // Redis is out: each of the n gateways known alive keeps 1/n of the limit (the rule)
    const n = Math.max(1, Math.floor(this.#gateways()));
    if (this.#fallback === undefined || n !== this.#fallbackN) {
      this.#fallbackN = n;
      this.#fallback = new TokenBucket({
        rps: this.rps / n,
        burst: Math.max(1, Math.floor(this.burst / n)),
        maxKeys: this.#maxKeys,
      });
    }
    return this.#fallback.take(key, now, cost);
  }
}

/** ioredis options for a connection on the request path: fail fast, and the limiter decides locally. */
export const REQUEST_PATH_REDIS = {
  maxRetriesPerRequest: 1,
  retryStrategy: (n: number) => Math.min(50 * n, 1000),
  enableOfflineQueue: false,
  commandTimeout: 1000,
} as const;

/** Where a service's shared limit lives: the connection, the cluster's key prefix and the gateway count. */
export interface SharedLimitTarget {
  redis: Redis;
  prefix: string;
  /** How many gateways share the limit: sizes the local fallback during a Redis outage. */
  gateways: () => number;
}

/** One service's shared limit under the cluster's key prefix; `gateways` sizes the outage fallback. */
export function serviceRateLimiter(
  { redis, prefix, gateways }: SharedLimitTarget,
  service: string,
  rl: { rps: number; burst?: number },
): RedisRateLimiter {
  return new RedisRateLimiter({
    redis,
    prefix: `${prefix}rl:${service}:`,
    rps: rl.rps,
    burst: rl.burst,
    gateways,
  });
}
