/**
 * The Store's shared parts in Redis, for `store: { redis }`: events and state (and, when asked,
 * instance records) live where every node (and the next leader) reads them. Metric history stays in the node's
 * local store: its `historyReader` is synchronous (policies read it inside a tick) and per-second
 * samples are the leader's own record.
 *
 * Keys under `prefix`: `ev:id` (INCR: ids grow and are never reused), `ev` (sorted set, score =
 * id, member = the event's JSON; the newest `maxEvents` kept), `state:<service>` (hash key →
 * JSON), `instances` (hash id → JSON). Writes go straight to Redis: while it is unreachable
 * they reject (the app logs them); the local history keeps recording.
 */
import type { Redis } from 'ioredis';
import type { EventInput, EventQuery, EventStore, StoredEvent } from '../store/event-store.js';
import type { InstanceStore, StoredInstance } from '../store/instance-store.js';
import type { StateStore } from '../store/state-store.js';
import type { Store } from '../store/store.js';
import { STORE_PREFIX, redisKeyStore } from './redis-key-store.js';
import { redisUsageLedger } from './redis-usage-ledger.js';
import { jsonHash } from './redis-json-hash.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  redis: Redis;
  /** Key prefix (default `luascale:store:`). */
  prefix?: string;
  /** The node's local store: its metric history, flush and pending counts are used as they are. */
  local: Store;
  /** Events kept (default 100 000). */
  maxEvents?: number;
  /** Disconnect `redis` on close (default false: the cluster node owns the connection). */
  ownsConnection?: boolean;
  /**
   * Keep instance records in Redis too (default false). Process-provider records name local pids,
   * and a follower's `adopt()` must not see (or stop) the leader's processes, so by default they
   * stay in the node's local store. Turn it on for providers whose records are cluster-wide.
   */
  sharedInstances?: boolean;
}

/** Events in a sorted set by id. */
export function redisEventStore(redis: Redis, prefix: string, maxEvents = 100_000): EventStore {
  const key = `${prefix}ev`;
  return {
    async append(e: EventInput): Promise<number> {
      const id = await redis.incr(`${prefix}ev:id`);
      const stored: StoredEvent = { id, service: e.service, type: e.type, at: e.at, data: e.data };
      // serialised now: later mutation of `data` by the caller must not change the event
      await redis
        .multi()
        .zadd(key, id, JSON.stringify(stored))
        .zremrangebyrank(key, 0, -maxEvents - 1)
        .exec();
      return id;
    },
    async list(q: EventQuery): Promise<StoredEvent[]> {
      const limit = Math.max(1, Math.min(10_000, Math.floor(q.limit)));
      if (q.types !== undefined && q.types.length === 0) return [];
      const desc = q.order === 'desc';
      const out: StoredEvent[] = [];
      let lo = q.afterId !== undefined ? `(${q.afterId}` : '-inf';
      let hi = q.beforeId !== undefined ? `(${q.beforeId}` : '+inf';
      // scan in chunks, filtering here: a page may need more than `limit` raw events
      const chunk = Math.max(100, limit);
      for (;;) {
        const raw = desc
          ? await redis.zrevrangebyscore(key, hi, lo, 'LIMIT', 0, chunk)
          : await redis.zrangebyscore(key, lo, hi, 'LIMIT', 0, chunk);
        for (const json of raw) {
          const e = JSON.parse(json) as StoredEvent;
          if (q.service !== undefined && e.service !== q.service) continue;
          if (q.types !== undefined && !q.types.includes(e.type)) continue;
          if (q.since !== undefined && e.at < q.since) continue;
          out.push(e);
          if (out.length === limit) return out;
        }
        if (raw.length < chunk) return out;
        const last = (JSON.parse(raw[raw.length - 1]!) as StoredEvent).id;
        if (desc) hi = `(${last}`;
        else lo = `(${last}`;
      }
    },
  };
}

/** JSON values in one hash per service. */
export function redisStateStore(redis: Redis, prefix: string): StateStore {
  return {
    async get<T>(service: string, key: string): Promise<T | undefined> {
      const v = await redis.hget(`${prefix}state:${service}`, key);
      return v === null ? undefined : (JSON.parse(v) as T);
    },
    async set(service, key, value) {
      await redis.hset(`${prefix}state:${service}`, key, JSON.stringify(value));
    },
    async delete(service, key) {
      await redis.hdel(`${prefix}state:${service}`, key);
    },
  };
}

/** Instance records in one hash. */
export function redisInstanceStore(redis: Redis, prefix: string): InstanceStore {
  const key = `${prefix}instances`;
  const hash = jsonHash<StoredInstance>(redis, key);
  return {
    upsert: (record) => hash.put(record.id, record),
    async list(service) {
      const all = await hash.all();
      return all
        .filter((r) => service === undefined || r.service === service)
        .sort((a, b) => a.startedAt - b.startedAt);
    },
    async remove(id) {
      await redis.hdel(key, id);
    },
  };
}

/** A Store whose events, state and instances are shared through Redis. */
export function createRedisStore(options: RedisStoreOptions): Store {
  const { redis, local } = options;
  const prefix = options.prefix ?? STORE_PREFIX;
  return {
    location: `redis (${prefix}) + ${local.location}`,
    events: redisEventStore(redis, prefix, options.maxEvents),
    state: redisStateStore(redis, prefix),
    instances: options.sharedInstances ? redisInstanceStore(redis, prefix) : local.instances,
    keys: redisKeyStore(redis, prefix),
    usage: redisUsageLedger(redis, prefix),
    history: local.history,
    flush: () => local.flush(),
    pending: () => local.pending(),
    async close() {
      await local.close();
      if (options.ownsConnection) redis.disconnect();
    },
  };
}
