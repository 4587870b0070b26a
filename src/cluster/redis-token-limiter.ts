/**
 * The cluster-wide TokenLimiter: the in-memory limiter's algorithm (src/llm/budget) in two Lua
 * scripts, so N gateways sharing one Redis never admit more than one budget. `reserve` checks every
 * limit of the request and charges them all in one atomic call (or none: a denial charges nothing);
 * `settle` rewrites the reservation's share of each window to the real usage.
 *
 * Keys under `<prefix>tl:` (prefix `luascale:` by default):
 * - a sliding minute: a hash `<consumer>:<limit>` (entry id → amount, plus `_sum`) and a sorted set
 *   `…:t` (entry id scored by its time); entries older than 60 s are dropped on the next reserve;
 * - a calendar window: a float counter `<consumer>:<limit>:<YYYY-MM-DD | YYYY-MM>` that expires an
 *   hour after the window ends, by the gateway's clock (a relative TTL: a Redis whose clock is
 *   ahead of the gateways' would otherwise drop a day's budget before the day is over).
 *
 * When Redis fails or answers slower than `timeoutMs`, each gateway decides alone with an in-memory
 * limiter holding 1/n of every limit (n = gateways known alive), the same rule as the rate limiter's
 * outage fallback; its reservations settle locally.
 */
import type { Redis } from 'ioredis';
import { MemoryTokenLimiter, type TokenLimiterOptions } from '../llm/budget/memory-token-limiter.js';
import {
  MINUTE_MS,
  amountFor,
  calendarWindow,
  limitHeaders,
  limitsFor,
  oversized,
  oversizedDenial,
  tightest,
  windowKey,
  type ConsumerLimitsLike,
  type LimitState,
  type TokenLimitFields,
} from '../llm/budget/token-limits.js';
import type {
  Charge,
  Reservation,
  ReserveRequest,
  ReserveVerdict,
  SettleActual,
  TokenLimiter,
} from '../llm/budget/token-limiter.js';
import { randomBytes } from 'node:crypto';
import { redisScript } from './redis-script.js';

/**
 * KEYS: two per limit (hash or counter, sorted set). ARGV: now, id, n, then per limit: kind
 * (m = sliding minute, f = calendar), limit, amount, window end (epoch ms, calendar only).
 * Reply {1, used₁, reset₁, …} when every limit had room (and all were charged), else
 * {0, i, used, reset, wait} for the first limit without room. Numbers go back as strings: Lua
 * numbers would be truncated to integers in the reply.
 */
const RESERVE_LUA = `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = tonumber(ARGV[3])
local SPAN = ${MINUTE_MS}
local used, reset = {}, {}
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local kind, limit, amount, endAt = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local u
  if kind == 'm' then
    local old = redis.call('ZRANGEBYSCORE', z, '-inf', now - SPAN, 'LIMIT', 0, 5000)
    if #old > 0 then
      local s = 0
      for _, a in ipairs(redis.call('HMGET', h, unpack(old))) do s = s + (tonumber(a) or 0) end
      redis.call('HDEL', h, unpack(old))
      redis.call('ZREM', z, unpack(old))
      if redis.call('ZCARD', z) == 0 then redis.call('DEL', h) else redis.call('HINCRBYFLOAT', h, '_sum', -s) end
    end
    u = tonumber(redis.call('HGET', h, '_sum')) or 0
    local last = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
    reset[i] = last[2] and (tonumber(last[2]) + SPAN - now) or 0
  else
    u = tonumber(redis.call('GET', h)) or 0
    reset[i] = endAt - now
  end
  if u + amount > limit then
    local wait = reset[i]
    if kind == 'm' then
      wait = SPAN
      if amount <= limit then
        local need, freed = u + amount - limit, 0
        local all = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
        for j = 1, #all, 2 do
          freed = freed + (tonumber(redis.call('HGET', h, all[j])) or 0)
          if freed >= need then wait = tonumber(all[j + 1]) + SPAN - now break end
        end
      end
    end
    return {0, i, tostring(u), tostring(reset[i]), tostring(wait)}
  end
  used[i] = u + amount
end
local out = {1}
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local kind, amount, endAt = ARGV[b + 1], ARGV[b + 3], tonumber(ARGV[b + 4])
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  if kind == 'm' then
    redis.call('ZADD', z, now, id)
    redis.call('HSET', h, id, amount)
    redis.call('HINCRBYFLOAT', h, '_sum', amount)
    redis.call('PEXPIRE', h, SPAN * 2)
    redis.call('PEXPIRE', z, SPAN * 2)
    reset[i] = SPAN
  else
    redis.call('INCRBYFLOAT', h, amount)
    -- An hour past the window's end by the gateway's clock (relative: Redis's own clock may differ)
    redis.call('PEXPIRE', h, endAt + 3600000 - now)
  end
  out[#out + 1] = tostring(used[i])
  out[#out + 1] = tostring(reset[i])
end
return out
`;
const reserveScript = redisScript(RESERVE_LUA);

/** KEYS: two per charge. ARGV: id, n, then per charge: kind, reserved, actual. */
const SETTLE_LUA = `
local id = ARGV[1]
local n = tonumber(ARGV[2])
for i = 1, n do
  local b = 2 + (i - 1) * 3
  local kind, reserved, actual = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local h = KEYS[2 * i - 1]
  if kind == 'm' then
    local old = redis.call('HGET', h, id)
    if old then
      redis.call('HSET', h, id, ARGV[b + 3])
      redis.call('HINCRBYFLOAT', h, '_sum', actual - tonumber(old))
    end
  elseif redis.call('EXISTS', h) == 1 then
    if tonumber(redis.call('INCRBYFLOAT', h, actual - reserved)) < 0 then redis.call('SET', h, '0', 'KEEPTTL') end
  end
end
return 1
`;
const settleScript = redisScript(SETTLE_LUA);

/** Options of the Redis token limiter. */
export interface RedisTokenLimiterOptions extends TokenLimiterOptions {
  redis: Redis;
  /** The cluster's key prefix (e.g. `luascale:`); keys go under `<prefix>tl:`. */
  prefix: string;
  /** Gateways sharing the limits, for the outage fallback's 1/n (default 1). */
  gateways?: () => number;
  /** A script slower than this (real ms) counts as an outage (default 250). */
  timeoutMs?: number;
}

const LOCAL = Symbol('local reservation');

/** TokenLimiter shared by every gateway through Redis. */
export class RedisTokenLimiter implements TokenLimiter {
  /** Calls decided in Redis, and by the local fallback. */
  readonly stats = { remote: 0, fallback: 0, errors: 0 };
  readonly #o: RedisTokenLimiterOptions;
  #fallback: MemoryTokenLimiter | undefined;
  #fallbackN = 0;

  constructor(options: RedisTokenLimiterOptions) {
    this.#o = options;
  }

  /** One script call: every limit checked, all charged or none. */
  async reserve(r: ReserveRequest): Promise<ReserveVerdict> {
    const costUsd = r.costUsd ?? 0;
    const specs = limitsFor(this.#o.consumers[r.consumer]?.limits, r.model);
    // larger than a whole limit: no round trip, and never the fallback's smaller share (below)
    const never = oversized(specs, r.tokens, costUsd);
    if (never !== undefined) return oversizedDenial(never, { tokens: r.tokens, costUsd, now: r.now });
    const id = `${r.now}-${randomBytes(6).toString('hex')}`;
    const charges: Charge[] = specs.map((spec) => ({
      limit: spec.name,
      key: `${this.#o.prefix}tl:${windowKey(r.consumer, spec, r.now)}`,
      amount: amountFor(spec, r.tokens, costUsd),
      unit: spec.unit,
      window: spec.window,
    }));
    const reservation: Reservation = {
      id,
      consumer: r.consumer,
      model: r.model,
      tokens: r.tokens,
      costUsd,
      charges,
      settled: false,
    };
    if (specs.length === 0) return { ok: true, reservation, headers: {} };
    const keys: string[] = [];
    const args: (string | number)[] = [r.now, id, specs.length];
    specs.forEach((spec, i) => {
      const key = charges[i]!.key;
      keys.push(key, `${key}:t`);
      const end = spec.window === 'minute' ? 0 : calendarWindow(spec.window, r.now).end;
      args.push(spec.window === 'minute' ? 'm' : 'f', spec.limit, charges[i]!.amount, end);
    });
    let reply: string[];
    try {
      // internal: not connected (yet, or any more) is an outage like any other, caught just below
      if (this.#o.redis.status !== 'ready') throw new Error('redis not ready');
      reply = (await this.#run(reserveScript.run(this.#o.redis, keys, args))) as string[];
    } catch {
      this.stats.errors++;
      return this.#local()
        .reserve(r)
        .then((v) => {
          if (v.ok) (v.reservation as unknown as Record<symbol, boolean>)[LOCAL] = true;
          // over 1/n of a limit but within the whole of it: it fits once Redis is back (429, not 400)
          else delete v.exceeds;
          return v;
        });
    }
    this.stats.remote++;
    if (Number(reply[0]) === 0) {
      const spec = specs[Number(reply[1]) - 1]!;
      const state: LimitState = { spec, used: Number(reply[2]), resetS: Number(reply[3]) / 1000 };
      const retryAfterS = Math.max(1, Math.ceil(Number(reply[4]) / 1000));
      return { ok: false, limit: spec.name, retryAfterS, headers: limitHeaders(state, r.now, retryAfterS) };
    }
    const states = specs.map((spec, i) => ({
      spec,
      used: Number(reply[1 + 2 * i]),
      resetS: Number(reply[2 + 2 * i]) / 1000,
    }));
    return { ok: true, reservation, headers: limitHeaders(tightest(states)!, r.now) };
  }

  /** One script call rewriting each window's share to the real usage; a failure leaves the reservation. */
  async settle(res: Reservation, actual: SettleActual): Promise<void> {
    if ((res as unknown as Record<symbol, boolean>)[LOCAL]) return this.#local().settle(res, actual);
    if (res.settled || res.charges.length === 0) {
      res.settled = true;
      return;
    }
    res.settled = true;
    const keys: string[] = [];
    const args: (string | number)[] = [res.id, res.charges.length];
    for (const c of res.charges) {
      keys.push(c.key, `${c.key}:t`);
      args.push(
        c.window === 'minute' ? 'm' : 'f',
        c.amount,
        c.unit === 'usd' ? actual.costUsd : actual.tokens,
      );
    }
    try {
      await this.#run(settleScript.run(this.#o.redis, keys, args));
    } catch {
      // the reservation stays charged in full: an over-count, never an over-admission
      this.stats.errors++;
    }
  }

  #run<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // internal: the caller catches it and falls back
      timer = setTimeout(() => reject(new Error('token limiter script timed out')), this.#o.timeoutMs ?? 250);
      timer.unref?.();
    });
    call.catch(() => undefined);
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }

  /** The outage fallback: every limit divided among the gateways known alive. */
  #local(): MemoryTokenLimiter {
    this.stats.fallback++;
    const n = Math.max(1, Math.floor(this.#o.gateways?.() ?? 1));
    if (this.#fallback === undefined || n !== this.#fallbackN) {
      this.#fallbackN = n;
      const consumers: Record<string, { limits?: ConsumerLimitsLike }> = {};
      for (const [name, c] of Object.entries(this.#o.consumers))
        consumers[name] = { limits: c?.limits && scaled(c.limits, 1 / n) };
      this.#fallback = new MemoryTokenLimiter({ consumers });
    }
    return this.#fallback;
  }
}

function scaledFields(f: TokenLimitFields, k: number): TokenLimitFields {
  const out: TokenLimitFields = {};
  for (const [name, v] of Object.entries(f) as Array<[keyof TokenLimitFields, unknown]>)
    if (typeof v === 'number') out[name] = v * k;
  return out;
}

function scaled(l: ConsumerLimitsLike, k: number): ConsumerLimitsLike {
  const models: Record<string, TokenLimitFields> = {};
  for (const [m, f] of Object.entries(l.models ?? {})) if (f) models[m] = scaledFields(f, k);
  return { ...scaledFields(l, k), models };
}
