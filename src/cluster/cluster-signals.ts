/**
 * Signals across gateways. Each gateway publishes, once per complete second, its per-service
 * aggregate of that second into `<prefix>sig:<service>:<sec>` (a hash: gateway id → JSON, TTL 2 min):
 * counts, the time-weighted in-flight mean, the queue level, and the second's latency histogram
 * encoded with HdrHistogram's compressed base64. `ClusterSignals` reads the last seconds of every
 * gateway and merges them: counts and time-weighted means add up, histograms add bucket by bucket
 * and percentiles are read from the sum (never an average of percentiles, which has no meaning).
 * `snapshot` is synchronous (the controller's SignalSource), so it answers from the last refresh,
 * which runs every `refreshMs`; a Redis outage leaves the last figures in place and marks them stale.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { Signals } from '../gateway/signals/signals.js';
import { mergeSeconds, secondAggregate, type SecondAggregate } from '../gateway/signals/second-aggregate.js';
import { isWorkerSignals } from '../gateway/worker-signals.js';
import type { LoadSignals, OperationSignals } from '../policy/policy.js';
import { gatewaySignalsOf } from '../signals/index.js';

// The aggregate and its merge live with the signals: gateway workers send the same seconds to
// their primary over IPC (src/gateway/worker-signals.ts).
export { secondAggregate, type SecondAggregate };

/** Options of the publisher. */
export interface SignalsPublisherOptions {
  redis: Redis;
  prefix: string;
  gatewayId: string;
  signals: Signals;
  clock: Clock;
  /** Services to publish (default: every service the signals have seen). */
  services?: () => Iterable<string>;
  /** Tick period, ms (default 1000; each tick publishes the seconds completed since the last). */
  intervalMs?: number;
}

/** Publishes this gateway's per-second aggregates; returns `publish(now)` for tests and `close`. */
export function publishSignals(options: SignalsPublisherOptions): {
  publish(now: number): Promise<number>;
  close(): void;
} {
  const { redis, prefix, gatewayId, signals, clock } = options;
  // The primary of a `workers: N` gateway holds its workers' seconds already merged.
  const merged = isWorkerSignals(signals);
  const aggregate = merged
    ? signals.secondAggregate
    : (service: string, t: number) => secondAggregate(signals, service, t);
  let lastSec = Math.floor(clock.now() / 1000) - 1;
  async function publish(now: number): Promise<number> {
    const cur = Math.floor(now / 1000);
    // at most the last 10 complete seconds: older ones have left the readers' windows anyway
    // A workers primary may get a worker's report of the last second after this tick: it sends
    // that second again next tick (a hash set, idempotent; readers re-read their last 3 s).
    const from = Math.max(lastSec + 1 - (merged ? 1 : 0), cur - 10);
    if (from > cur - 1) return 0;
    const pipe = redis.pipeline();
    let n = 0;
    for (const service of options.services?.() ?? signals.services()) {
      pipe.sadd(`${prefix}sig:services`, service);
      for (let sec = from; sec <= cur - 1; sec++) {
        const agg = aggregate(service, sec * 1000);
        if (agg === undefined) continue;
        const key = `${prefix}sig:${service}:${sec}`;
        pipe.hset(key, gatewayId, JSON.stringify(agg));
        pipe.pexpire(key, 120_000);
        n++;
      }
    }
    try {
      await pipe.exec();
      lastSec = cur - 1;
    } catch {
      // Redis out: these seconds are retried next tick, within the 10 s horizon
    }
    return n;
  }
  const timer = setInterval(() => void publish(clock.now()), options.intervalMs ?? 1000);
  timer.unref?.();
  return { publish, close: () => clearInterval(timer) };
}

/** The merged signals of every gateway, in the shape the controller reads. */
export type ClusterSnapshot = Partial<LoadSignals> & {
  operations?: Record<string, Partial<OperationSignals>>;
  offered_rps: number;
  admitted_rps: number;
  completed_rps: number;
  shed_by_reason: Record<string, number>;
  /** Gateways that reported in the window. */
  gateways: number;
  /** False when the last refresh from Redis failed (figures are the last known). */
  fresh: boolean;
};

/** Options of the reader. */
export interface ClusterSignalsOptions {
  redis: Redis;
  prefix: string;
  clock: Clock;
  /** Longest window a snapshot may ask for, seconds (default 60). */
  maxWindowS?: number;
  /** Refresh period, ms (default 1000). */
  refreshMs?: number;
}

/** A SignalSource over every gateway's published seconds. */
export interface ClusterSignals {
  /** The merged signals of `service` over the last `windowS` complete seconds before `now`. */
  snapshot(service: string, now: number, windowS?: number): ClusterSnapshot;
  /** Reads the last seconds of every known service from Redis. */
  refresh(now: number): Promise<boolean>;
  close(): void;
}

/** Creates the reader and starts refreshing. */
export function createClusterSignals(options: ClusterSignalsOptions): ClusterSignals {
  const { redis, prefix, clock } = options;
  const maxWindow = options.maxWindowS ?? 60;
  // service → second → gateway → aggregate
  const cache = new Map<string, Map<number, Map<string, SecondAggregate>>>();
  let fresh = false;

  async function refresh(now: number): Promise<boolean> {
    const cur = Math.floor(now / 1000);
    try {
      const services = await redis.smembers(`${prefix}sig:services`);
      const pipe = redis.pipeline();
      const asked: Array<[string, number]> = [];
      for (const service of services) {
        const known = cache.get(service);
        for (let sec = cur - maxWindow; sec <= cur - 1; sec++) {
          // seconds older than 3 s are complete everywhere: read them once
          if (known?.has(sec) && sec < cur - 3) continue;
          pipe.hgetall(`${prefix}sig:${service}:${sec}`);
          asked.push([service, sec]);
        }
      }
      const replies = (await pipe.exec()) ?? [];
      replies.forEach(([err, h], i) => {
        if (err) return;
        const [service, sec] = asked[i]!;
        let bySec = cache.get(service);
        if (bySec === undefined) cache.set(service, (bySec = new Map()));
        const gw = new Map<string, SecondAggregate>();
        for (const [id, json] of Object.entries(h as Record<string, string>)) {
          try {
            gw.set(id, JSON.parse(json) as SecondAggregate);
          } catch {
            // a malformed entry (another version) is skipped, not fatal
          }
        }
        bySec.set(sec, gw);
      });
      for (const bySec of cache.values())
        for (const sec of bySec.keys()) if (sec < cur - maxWindow) bySec.delete(sec);
      fresh = true;
    } catch {
      fresh = false;
    }
    return fresh;
  }

  function merge(seconds: SecondAggregate[][], windowS: number, gateways: number): ClusterSnapshot {
    const m = mergeSeconds(seconds, windowS, []);
    return {
      ...gatewaySignalsOf(m),
      offered_rps: m.offered_rps,
      admitted_rps: m.admitted_rps,
      completed_rps: m.completed_rps,
      shed_by_reason: m.shed_by_reason,
      gateways,
      fresh,
    };
  }

  function snapshot(service: string, now: number, windowS = 10): ClusterSnapshot {
    const n = Math.min(Math.max(1, Math.floor(windowS)), maxWindow);
    const cur = Math.floor(now / 1000);
    const bySec = cache.get(service);
    const parts: SecondAggregate[][] = [];
    const ops = new Map<string, SecondAggregate[][]>();
    const ids = new Set<string>();
    const latest = new Map<string, SecondAggregate>();
    for (let sec = cur - n; sec <= cur - 1; sec++) {
      const gw = bySec?.get(sec);
      if (gw === undefined) continue;
      const here: SecondAggregate[] = [];
      parts.push(here);
      for (const [id, a] of gw) {
        ids.add(id);
        latest.set(id, a);
        here.push(a);
        for (const [op, oa] of Object.entries(a.ops ?? {})) {
          let l = ops.get(op);
          if (l === undefined) ops.set(op, (l = []));
          l.push([oa]);
        }
      }
    }
    const out = merge(parts, n, ids.size);
    // levels "now" are each gateway's latest report, summed
    let queue = 0;
    for (const a of latest.values()) queue += a.queueNow;
    out.queue = queue;
    if (ops.size > 0) {
      out.operations = {};
      for (const [op, l] of ops) {
        const m = merge(l, n, ids.size);
        // a key's own queue is 0: queues are per service
        out.operations[op] = { ...gatewaySignalsOf(m), queue: 0 };
      }
    }
    return out;
  }

  const timer = setInterval(() => void refresh(clock.now()), options.refreshMs ?? 1000);
  timer.unref?.();
  void refresh(clock.now());
  return { snapshot, refresh, close: () => clearInterval(timer) };
}
