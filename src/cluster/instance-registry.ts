/**
 * The shared instance registry: the leader writes each service's ready instances to a hash
 * (`<prefix>inst:<service>`, id → url) and announces the change on `<prefix>inst`; every gateway
 * subscribes and also re-reads the hash every `reconcileMs`, so a lost message or a reconnect
 * costs one period at most. The write is a script that first checks the lease value, so a
 * deposed leader cannot overwrite its successor's set. When Redis is out, subscribers keep the
 * last set they had (never an empty one) and the leader rewrites the whole set when it is back.
 */
import type { Redis } from 'ioredis';
import type { Provider } from '../controller/provider.js';
import type { InstanceSpec } from '../gateway/upstream-pool.js';
import type { LeaderLease } from './leader-lease.js';
import { redisScript } from './redis-script.js';

// KEYS[1] hash, KEYS[2] lease key, KEYS[3] version; ARGV[1] lease value, ARGV[2] channel,
// ARGV[3] service, then id, url pairs. The version key tells "no instance" (it exists) from
// "nobody has written since Redis lost its data" (it does not): subscribers keep their set then.
const REPLACE = redisScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[1])
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`);

/** Options of the leader's publisher. */
export interface InstancePublisherOptions {
  redis: Redis;
  prefix: string;
  service: string;
  provider: Provider;
  lease: LeaderLease;
  /** The lease key (the write is fenced by it). */
  leaseKey: string;
  /** Full rewrite period, ms (default 5000). */
  intervalMs?: number;
  /** Ids leaving (being stopped): left out at once, so every gateway drains them, not just ours. */
  leaving?: () => ReadonlySet<string>;
}

/** Publishes the provider's ready instances while this node leads; returns a stop function. */
export function publishInstances(options: InstancePublisherOptions): {
  publish(): Promise<boolean>;
  close(): void;
} {
  const { redis, prefix, service, provider, lease } = options;
  async function publish(): Promise<boolean> {
    if (!lease.isHeld()) return false;
    const leaving = options.leaving?.();
    const ready = provider.list().filter((i) => i.state === 'ready' && !leaving?.has(i.id));
    const args: string[] = [`${lease.holder}`, `${prefix}inst`, service];
    for (const i of ready) args.push(i.id, i.url);
    try {
      return (
        Number(
          await REPLACE.run(
            redis,
            [`${prefix}inst:${service}`, options.leaseKey, `${prefix}inst:${service}:v`],
            args,
          ),
        ) === 1
      );
    } catch {
      return false; // Redis out: the periodic rewrite catches up when it returns
    }
  }
  const kick = () => void publish();
  const offs = [provider.on('ready', kick), provider.on('exited', kick), provider.on('failed', kick)];
  lease.on('change', kick);
  const timer = setInterval(kick, options.intervalMs ?? 5000);
  timer.unref?.();
  return {
    publish,
    close() {
      clearInterval(timer);
      for (const off of offs) off();
      lease.off('change', kick);
    },
  };
}

/** Options of a gateway's subscription. */
export interface InstanceSubscriptionOptions {
  redis: Redis;
  /** A dedicated connection in subscriber mode (ioredis re-subscribes after reconnecting). */
  subscriber: Redis;
  prefix: string;
  /** Re-read period, ms (default 5000). */
  reconcileMs?: number;
}

/** Calls `onChange` with the service's instance set whenever it changes; returns the stop function. */
export function subscribeInstances(
  service: string,
  onChange: (instances: InstanceSpec[]) => void,
  options: InstanceSubscriptionOptions,
): { refresh(): Promise<void>; current(): InstanceSpec[] | undefined; close(): void } {
  const { redis, subscriber, prefix } = options;
  const channel = `${prefix}inst`;
  let last: string | undefined;
  let current: InstanceSpec[] | undefined;
  let closed = false;

  async function refresh(): Promise<void> {
    let h: Record<string, string>;
    try {
      const r = await redis
        .multi()
        .get(`${prefix}inst:${service}:v`)
        .hgetall(`${prefix}inst:${service}`)
        .exec();
      if (r === null || r[0]![1] === null) return; // never written (or lost in a Redis restart): keep ours
      h = r[1]![1] as Record<string, string>;
    } catch {
      return; // keep the last set while Redis is out
    }
    if (closed) return;
    const list = Object.entries(h)
      .map(([id, url]) => ({ id, url }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const sig = JSON.stringify(list);
    if (sig === last) return;
    last = sig;
    current = list;
    onChange(list);
  }
  const onMessage = (ch: string, msg: string) => {
    if (ch === channel && msg === service) void refresh();
  };
  subscriber.on('message', onMessage);
  void subscriber.subscribe(channel).catch(() => undefined);
  // after a reconnect the hash may have changed while we were away
  const onReady = () => void refresh();
  redis.on('ready', onReady);
  const timer = setInterval(() => void refresh(), options.reconcileMs ?? 5000);
  timer.unref?.();
  void refresh();
  return {
    refresh,
    current: () => current,
    close() {
      closed = true;
      clearInterval(timer);
      subscriber.off('message', onMessage);
      redis.off('ready', onReady);
    },
  };
}
