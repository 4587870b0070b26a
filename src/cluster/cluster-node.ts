/**
 * One luascale process's membership in a cluster: the Redis connections and every shared piece,
 * built from `store: { redis: "redis://..." }`. This is the wiring surface `luascale up` uses:
 *
 *   const node = await createClusterNode({ url, clock, log });
 *   admission: createAdmission(traffic, clock, { limiter: node.rateLimiter(service, traffic.rate_limit) })
 *   node.publishSignals(signals);                  // this gateway's seconds → Redis
 *   controller signals: node.signals               // every gateway's seconds, merged
 *   provider = node.fence(provider); node.publishInstances(service, provider);
 *   node.subscribeInstances(service, (list) => gateway.setInstances(service, list));
 *   node.lease.start();  …  await node.close();
 *
 * Connections: commands fail fast while Redis is out (`enableOfflineQueue: false`, 1 s command
 * timeout) so the request path falls back at once instead of queueing; ioredis reconnects on its
 * own (back-off 50 ms × attempt, at most 1 s) and re-subscribes the pub/sub connection.
 */
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Provider } from '../controller/provider.js';
import type { Signals } from '../gateway/signals/signals.js';
import type { InstanceSpec } from '../gateway/upstream-pool.js';
import { createClusterSignals, publishSignals, type ClusterSignals } from './cluster-signals.js';
import { fencedProvider } from './fenced-provider.js';
import { gatewayMembership, type GatewayMembership } from './gateway-membership.js';
import { publishInstances, subscribeInstances } from './instance-registry.js';
import { createLeaderLease, type LeaderLease } from './leader-lease.js';
import { REQUEST_PATH_REDIS, serviceRateLimiter, type RedisRateLimiter } from './redis-rate-limiter.js';

/** Options of a cluster node. */
export interface ClusterNodeOptions {
  /** `redis://` or `rediss://` URL (standalone Redis). */
  url: string;
  clock: Clock;
  /** This node's id (default `<hostname>-<pid>-<random>`). */
  id?: string;
  /** Key prefix shared by the cluster (default `luascale:`); separate clusters use separate prefixes. */
  prefix?: string;
  /** Leader lease TTL, ms (default 5000): the longest a dead leader blocks scaling. */
  leaseTtlMs?: number;
  /** How long `createClusterNode` waits for a first connection before starting degraded (default 3000). */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The shared pieces of one node. */
export interface ClusterNode {
  readonly id: string;
  readonly prefix: string;
  readonly redis: Redis;
  readonly lease: LeaderLease;
  readonly membership: GatewayMembership;
  /** Merged signals of every gateway (a SignalSource for the controllers). */
  readonly signals: ClusterSignals;
  /** A RateLimiter for one service's `traffic.rate_limit`, shared by every gateway. */
  rateLimiter(service: string, rl: { rps: number; burst?: number }): RedisRateLimiter;
  /** Starts publishing this gateway's per-second signals. */
  publishSignals(signals: Signals): void;
  /** Wraps a provider so only the leader actuates (followers' controllers hold). */
  fence(provider: Provider): Provider;
  /** While leader, keeps `<prefix>inst:<service>` equal to the provider's ready instances. */
  publishInstances(service: string, provider: Provider): void;
  /** Routes this gateway to the shared set: `onChange` gets every new set; returns unsubscribe. */
  subscribeInstances(service: string, onChange: (instances: InstanceSpec[]) => void): () => void;
  /** Releases the lease, stops every timer, closes the connections. */
  close(): Promise<void>;
}

/** Connects to Redis and builds the node's pieces (the lease is started; signals are read). */
export async function createClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { url, clock } = options;
  const log = options.log ?? (() => {});
  const id = options.id ?? `${hostname()}-${process.pid}-${newId('n').slice(-6)}`;
  const prefix = options.prefix ?? 'luascale:';
  const base: RedisOptions = {
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => Math.min(50 * n, 1000),
    connectionName: `luascale-${id}`,
  };
  const redis = new Redis(url, { ...base, ...REQUEST_PATH_REDIS });
  const subscriber = new Redis(url, { ...base, maxRetriesPerRequest: null });
  let down = false;
  for (const [name, conn] of [
    ['redis', redis],
    ['subscriber', subscriber],
  ] as const) {
    // ioredis would print unhandled 'error' events; an outage is logged once per transition instead
    conn.on('error', (err: Error) => {
      if (name === 'redis' && !down) {
        down = true;
        log(`cluster: Redis unreachable (${err.message}); serving with local limits`);
      }
    });
  }
  redis.on('ready', () => {
    if (down) log('cluster: Redis is back');
    down = false;
  });
  await new Promise<void>((resolve) => {
    if (redis.status === 'ready') return resolve();
    const t = setTimeout(resolve, options.connectTimeoutMs ?? 3000);
    redis.once('ready', () => {
      clearTimeout(t);
      resolve();
    });
  });

  const leaseKey = `${prefix}leader`;
  const lease = createLeaderLease({ redis, key: leaseKey, id, clock, ttlMs: options.leaseTtlMs });
  lease.on('change', (held: boolean, fence?: number) =>
    log(
      held
        ? `cluster: ${id} is the leader (fencing token ${fence})`
        : `cluster: ${id} is no longer the leader`,
    ),
  );
  const membership = gatewayMembership({ redis, prefix, id, clock });
  const signals = createClusterSignals({ redis, prefix, clock });
  const closers: Array<() => void> = [];
  // per service: instances being stopped, and the registry writer that must drop them at once
  const leaving = new Map<string, Set<string>>();
  const publishers = new Map<string, () => Promise<boolean>>();
  const leavingOf = (service: string) => {
    let s = leaving.get(service);
    if (s === undefined) leaving.set(service, (s = new Set()));
    return s;
  };
  lease.start();

  return {
    id,
    prefix,
    redis,
    lease,
    membership,
    signals,
    rateLimiter: (service, rl) =>
      serviceRateLimiter({ redis, prefix, gateways: () => membership.count() }, service, rl),
    publishSignals(local) {
      const p = publishSignals({ redis, prefix, gatewayId: id, signals: local, clock });
      closers.push(p.close);
    },
    fence(provider) {
      const fenced = fencedProvider(provider, lease);
      const stop = fenced.stop.bind(fenced);
      fenced.stop = async (id) => {
        // take it out of every gateway's set before draining it (not only out of ours)
        const set = leavingOf(provider.service);
        set.add(id);
        await publishers.get(provider.service)?.();
        try {
          await stop(id);
        } finally {
          set.delete(id);
        }
      };
      return fenced;
    },
    publishInstances(service, provider) {
      const p = publishInstances({
        redis,
        prefix,
        service,
        provider,
        lease,
        leaseKey,
        leaving: () => leavingOf(service),
      });
      publishers.set(service, p.publish);
      closers.push(p.close);
    },
    subscribeInstances(service, onChange) {
      const s = subscribeInstances(service, onChange, { redis, subscriber, prefix });
      closers.push(s.close);
      return s.close;
    },
    async close() {
      for (const c of closers.splice(0)) c();
      signals.close();
      await lease.close();
      await membership.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
