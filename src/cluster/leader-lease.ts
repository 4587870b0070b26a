/**
 * Leader election for the control loops: one lease key in Redis, taken with `SET key value NX PX
 * ttl`, renewed by a compare-and-extend script, released (compare-and-delete) on shutdown.
 * Each acquisition takes a fencing token from `INCR`, carried in the lease's value, so a stale
 * leader (paused past its TTL, then resumed) is refused by every fenced action
 * (Kleppmann, "How to do distributed locking", 2016).
 *
 *   follower ──acquire (key absent)──▶ leader ──renew ok──▶ leader
 *      ▲   └─ key held: retry when its PTTL ends      │ renew says "not yours" / no renewal
 *      │                                              │ succeeded for 0.9 × ttl (Redis down)
 *      └──────────────────────────────────────────────┘
 *
 * `isHeld()` also expires locally at 0.9 × ttl after the last successful renewal was sent
 * (10 % for clock-rate drift), so a leader cut off from Redis stops acting before anybody else
 * may start; it then holds its scale (no actuation) until it is leader again.
 * The fencing counter is seeded from Redis' TIME in µs when missing (< 2^53, exact in Lua), so tokens keep growing even
 * after a Redis restart without persistence wiped the counter.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { redisScript } from './redis-script.js';

// KEYS[1] lease, KEYS[2] fencing counter; ARGV[1] holder id, ARGV[2] ttl ms
const ACQUIRE = redisScript(`
local v = redis.call('GET', KEYS[1])
if v then return {0, redis.call('PTTL', KEYS[1]), v} end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
local f = redis.call('INCR', KEYS[2])
local val = ARGV[1] .. '#' .. string.format('%.0f', f)
redis.call('SET', KEYS[1], val, 'NX', 'PX', ARGV[2])
return {1, f, val}
`);
// KEYS[1] lease; ARGV[1] our value, ARGV[2] ttl ms
const RENEW = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);
const RELEASE = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
const CHECK = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PTTL', KEYS[1]) end
return -2
`);

/** Options of a lease. */
export interface LeaderLeaseOptions {
  redis: Redis;
  /** The lease key, e.g. `luascale:leader`; the fencing counter is `<key>:fence`. */
  key: string;
  /** This node's id (shown as the holder). */
  id: string;
  clock: Clock;
  /** Lease time to live, ms (default 5000). */
  ttlMs?: number;
  /** Renewal (and acquisition retry) period, ms (default ttl / 3). */
  renewMs?: number;
}

/** A leadership lease; `change` is emitted with (held, fence). */
export interface LeaderLease extends EventEmitter {
  readonly id: string;
  /** The fencing token of the lease currently held (undefined when not leader). */
  readonly fence: number | undefined;
  /** Who holds the lease, as last seen (`id#fence`), or undefined. */
  readonly holder: string | undefined;
  /** True while this node holds the lease and its local validity has not run out. */
  isHeld(): boolean;
  /** Asks Redis, atomically, whether this node still holds the lease with at least `marginMs` left. */
  check(marginMs?: number): Promise<boolean>;
  /** One acquire-or-renew step (the timer runs it every renewMs). */
  step(): Promise<boolean>;
  /** Starts the renew/acquire timer. */
  start(): void;
  /** Stops the timer and releases the lease if held. */
  close(): Promise<void>;
}

/** Creates a lease (not started). */
export function createLeaderLease(options: LeaderLeaseOptions): LeaderLease {
  const { redis, key, id, clock } = options;
  const fenceKey = `${key}:fence`;
  const ttl = options.ttlMs ?? 5000;
  const renewMs = options.renewMs ?? Math.max(50, Math.floor(ttl / 3));
  const ee = new EventEmitter();
  let value: string | undefined;
  let fence: number | undefined;
  let holder: string | undefined;
  let validUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<boolean> | undefined;
  let started = false;

  function lose(): void {
    if (value === undefined) return;
    value = undefined;
    fence = undefined;
    ee.emit('change', false, undefined);
  }

  function isHeld(): boolean {
    if (value !== undefined && clock.now() >= validUntil) lose();
    return value !== undefined;
  }

  async function doStep(): Promise<number> {
    const sentAt = clock.now();
    if (isHeld()) {
      try {
        const ok = Number(await RENEW.run(redis, [key], [value!, ttl]));
        if (ok === 1) {
          validUntil = sentAt + ttl * 0.9;
          return renewMs;
        }
        lose(); // taken over, or Redis lost the key (restart): a follower again
        return 0;
      } catch {
        isHeld(); // Redis unreachable: keep acting only while the local validity lasts
        return Math.min(renewMs, 250);
      }
    }
    try {
      const r = (await ACQUIRE.run(redis, [key, fenceKey], [id, ttl])) as [number, number, string];
      holder = String(r[2]);
      if (Number(r[0]) === 1 && !closed) {
        value = holder;
        fence = Number(r[1]);
        validUntil = sentAt + ttl * 0.9;
        ee.emit('change', true, fence);
        return renewMs;
      }
      // held by someone else: try again right when it would expire
      const pttl = Number(r[1]);
      return pttl > 0 ? Math.min(renewMs, pttl + 5) : renewMs;
    } catch {
      return Math.min(renewMs, 250);
    }
  }

  function schedule(ms: number): void {
    if (closed) return;
    timer = setTimeout(() => void step(), ms);
    timer.unref?.();
  }

  let nextMs = renewMs;
  function step(): Promise<boolean> {
    running ??= doStep().then((ms) => {
      running = undefined;
      nextMs = ms;
      if (started) schedule(nextMs);
      return isHeld();
    });
    return running;
  }

  // defineProperties, not Object.assign: assign would copy the getters' values once
  Object.defineProperties(ee, {
    id: { value: id, enumerable: true },
    fence: { get: () => (isHeld() ? fence : undefined), enumerable: true },
    holder: { get: () => holder, enumerable: true },
  });
  return Object.assign(ee, {
    isHeld,
    async check(marginMs = Math.min(500, ttl / 10)) {
      if (!isHeld()) return false;
      try {
        const pttl = Number(await CHECK.run(redis, [key], [value!]));
        if (pttl === -2) lose();
        return pttl > marginMs || pttl === -1;
      } catch {
        return false;
      }
    },
    step,
    start() {
      if (started || closed) return;
      started = true;
      void step();
    },
    async close() {
      closed = true;
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
      const v = value;
      lose();
      if (v !== undefined) await RELEASE.run(redis, [key], [v]).catch(() => undefined);
    },
  }) as LeaderLease;
}
