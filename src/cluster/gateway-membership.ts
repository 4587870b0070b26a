/**
 * Which gateways are alive: each one heartbeats into a sorted set (`<prefix>gateways`, score =
 * its clock in ms) every second; the live count is the members seen within `staleMs`. During a
 * Redis outage the last count is kept: it is the "n" of the rps/n local fallback limit.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';

/** Options of the heartbeat. */
export interface GatewayMembershipOptions {
  redis: Redis;
  prefix: string;
  id: string;
  clock: Clock;
  /** Heartbeat period, ms (default 1000). */
  intervalMs?: number;
  /** A member silent this long is gone, ms (default 5000). */
  staleMs?: number;
}

/** Live gateway count, kept fresh by a heartbeat timer. */
export interface GatewayMembership {
  /** Gateways alive at the last successful heartbeat (at least 1: this one). */
  count(): number;
  /** One heartbeat: announce this gateway, drop stale ones, count the rest. */
  beat(): Promise<number>;
  close(): Promise<void>;
}

/** Starts heartbeating. */
export function gatewayMembership(options: GatewayMembershipOptions): GatewayMembership {
  const { redis, prefix, id, clock } = options;
  const key = `${prefix}gateways`;
  const staleMs = options.staleMs ?? 5000;
  let n = 1;
  async function beat(): Promise<number> {
    const now = clock.wallNow();
    try {
      const r = await redis
        .multi()
        .zadd(key, now, id)
        .zremrangebyscore(key, '-inf', now - staleMs)
        .zcard(key)
        .exec();
      const c = Number(r?.[2]?.[1]);
      if (Number.isFinite(c) && c >= 1) n = c;
    } catch {
      // keep the last count
    }
    return n;
  }
  const timer = setInterval(() => void beat(), options.intervalMs ?? 1000);
  timer.unref?.();
  void beat();
  return {
    count: () => n,
    beat,
    async close() {
      clearInterval(timer);
      await redis.zrem(key, id).catch(() => undefined);
    },
  };
}
