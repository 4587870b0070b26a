/**
 * The in-memory TokenLimiter: one gateway process (the Redis one, src/cluster/redis-token-limiter.ts,
 * is the same algorithm in one Lua script for many gateways). All of a request's limits are checked
 * first and charged only when every one has room, so a denial charges nothing.
 */
import { randomBytes } from 'node:crypto';
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
  type LimitSpec,
  type LimitState,
} from './token-limits.js';
import type {
  Charge,
  Reservation,
  ReserveRequest,
  ReserveVerdict,
  SettleActual,
  TokenLimiter,
} from './token-limiter.js';

/** Where the limiter finds each consumer's limits: the config's `consumers` section fits. */
export interface TokenLimiterOptions {
  consumers: Readonly<Record<string, { limits?: ConsumerLimitsLike } | undefined>>;
}

interface Entry {
  t: number;
  id: string;
  amount: number;
}

/** The entries of a sliding minute, oldest first, with their running sum. */
class SlidingWindow {
  entries: Entry[] = [];
  byId = new Map<string, Entry>();
  sum = 0;

  expire(now: number): void {
    let i = 0;
    while (i < this.entries.length && this.entries[i]!.t <= now - MINUTE_MS) {
      const e = this.entries[i++]!;
      this.sum -= e.amount;
      this.byId.delete(e.id);
    }
    if (i > 0) this.entries.splice(0, i);
    if (this.entries.length === 0) this.sum = 0; // no float residue once empty
  }

  add(e: Entry): void {
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.t > e.t) i--; // clocks of callers may disagree a little
    this.entries.splice(i, 0, e);
    this.byId.set(e.id, e);
    this.sum += e.amount;
  }

  /** Seconds until enough entries age out that `need` fits. */
  waitFor(need: number, now: number): number {
    let freed = 0;
    for (const e of this.entries) {
      freed += e.amount;
      if (freed >= need) return (e.t + MINUTE_MS - now) / 1000;
    }
    return MINUTE_MS / 1000;
  }

  resetS(now: number): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? 0 : (last.t + MINUTE_MS - now) / 1000;
  }
}

/** Reserve-then-settle limits of one process. */
export class MemoryTokenLimiter implements TokenLimiter {
  readonly #consumers: TokenLimiterOptions['consumers'];
  readonly #sliding = new Map<string, SlidingWindow>();
  readonly #fixed = new Map<string, { used: number; end: number }>();
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(options: TokenLimiterOptions) {
    this.#consumers = options.consumers;
  }

  /** Checks every limit, then charges them all or none. */
  async reserve(r: ReserveRequest): Promise<ReserveVerdict> {
    const costUsd = r.costUsd ?? 0;
    const specs = limitsFor(this.#consumers[r.consumer]?.limits, r.model);
    const never = oversized(specs, r.tokens, costUsd);
    if (never !== undefined) return oversizedDenial(never, { tokens: r.tokens, costUsd, now: r.now });
    const id = `${r.now}-${randomBytes(6).toString('hex')}`;
    this.#prune(r.now);
    const states: LimitState[] = [];
    for (const spec of specs) {
      const amount = amountFor(spec, r.tokens, costUsd);
      const key = windowKey(r.consumer, spec, r.now);
      const { used, resetS, wait } = this.#look(spec, key, r.now);
      if (used + amount > spec.limit) {
        const retryAfterS = Math.max(1, Math.ceil(wait(used + amount - spec.limit)));
        const state = { spec, used, resetS };
        return { ok: false, limit: spec.name, retryAfterS, headers: limitHeaders(state, r.now, retryAfterS) };
      }
      // after the charge, the minute window is whole again when this entry ages out
      states.push({
        spec,
        used: used + amount,
        resetS: spec.window === 'minute' ? MINUTE_MS / 1000 : resetS,
      });
    }
    const charges: Charge[] = specs.map((spec) => {
      const amount = amountFor(spec, r.tokens, costUsd);
      const key = windowKey(r.consumer, spec, r.now);
      this.#charge(spec, key, { t: r.now, id, amount });
      return { limit: spec.name, key, amount, unit: spec.unit, window: spec.window };
    });
    const reservation: Reservation = {
      id,
      consumer: r.consumer,
      model: r.model,
      tokens: r.tokens,
      costUsd,
      charges,
      settled: false,
    };
    const t = tightest(states);
    return { ok: true, reservation, headers: t === undefined ? {} : limitHeaders(t, r.now) };
  }

  /** Sets each window's share of the reservation to the real usage. */
  async settle(res: Reservation, actual: SettleActual): Promise<void> {
    if (res.settled) return;
    res.settled = true;
    const id = res.id;
    for (const c of res.charges) {
      const real = c.unit === 'usd' ? actual.costUsd : actual.tokens;
      const sliding = this.#sliding.get(c.key);
      const entry = sliding?.byId.get(id);
      if (sliding !== undefined && entry !== undefined) {
        sliding.sum += real - entry.amount;
        entry.amount = real;
        continue;
      }
      const fixed = this.#fixed.get(c.key);
      // a window that has ended (or aged out) keeps nothing to correct
      if (fixed !== undefined) fixed.used = Math.max(0, fixed.used + real - c.amount);
    }
  }

  #look(
    spec: LimitSpec,
    key: string,
    now: number,
  ): { used: number; resetS: number; wait: (need: number) => number } {
    if (spec.window === 'minute') {
      const w = this.#sliding.get(key);
      w?.expire(now);
      return { used: w?.sum ?? 0, resetS: w?.resetS(now) ?? 0, wait: (need) => w?.waitFor(need, now) ?? 60 };
    }
    const end = calendarWindow(spec.window, now).end;
    const used = this.#fixed.get(key)?.used ?? 0;
    return { used, resetS: (end - now) / 1000, wait: () => (end - now) / 1000 };
  }

  #charge(spec: LimitSpec, key: string, e: Entry): void {
    if (spec.window === 'minute') {
      let w = this.#sliding.get(key);
      if (w === undefined) this.#sliding.set(key, (w = new SlidingWindow()));
      w.add(e);
      return;
    }
    const f = this.#fixed.get(key);
    if (f !== undefined) f.used += e.amount;
    else this.#fixed.set(key, { used: e.amount, end: calendarWindow(spec.window, e.t).end });
  }

  /** Drops calendar windows that have ended and minute windows with nothing left. */
  #prune(now: number): void {
    if (now - this.#prunedAt < MINUTE_MS) return;
    this.#prunedAt = now;
    for (const [k, f] of this.#fixed) if (f.end <= now) this.#fixed.delete(k);
    for (const [k, w] of this.#sliding) {
      w.expire(now);
      if (w.entries.length === 0) this.#sliding.delete(k);
    }
  }
}
