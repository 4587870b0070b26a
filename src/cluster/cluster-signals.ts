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
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { Signals } from '../gateway/signals/signals.js';
import { SHED_REASONS, STATUS_CLASSES, type KeyStats } from '../gateway/signals/key-stats.js';
import { createHistogram, summarize } from '../metrics/latency-window.js';
import type { LoadSignals, OperationSignals } from '../policy/policy.js';

/** One gateway's figures for one second of one service (or operation). */
export interface SecondAggregate {
  offered: number;
  shed: number;
  shedBy: Record<string, number>;
  completed: number;
  /** Completions by status class, in STATUS_CLASSES order. */
  status: number[];
  /** Time-weighted mean in flight over the second. */
  inflight: number;
  queueNow: number;
  queueAvg: number;
  inflightNow: number;
  /** The second's latency histogram (µs), compressed base64; '' when empty. */
  lat: string;
  ops?: Record<string, SecondAggregate>;
}

/** The same precision as the gateway's windows (10 min, 2 digits), so histograms add exactly. */
const HIST_MAX_MS = 600_000;

function addKey(agg: SecondAggregate, k: KeyStats, t: number, hist: Histogram): void {
  agg.offered += k.offered.at(t);
  agg.shed += k.shed.at(t);
  for (const [r, w] of k.shedBy) agg.shedBy[r] = (agg.shedBy[r] ?? 0) + w.at(t);
  agg.completed += k.completed.at(t);
  STATUS_CLASSES.forEach((_, i) => (agg.status[i]! += k.status[i]!.at(t)));
  agg.inflight += k.inflight.average(t + 1000, 1);
  agg.inflightNow += k.inflight.level;
  // addTo(now, 1) takes the one second containing `now`
  k.latency.addTo(hist, t + 999, 1);
}

function emptyAggregate(): SecondAggregate {
  return {
    offered: 0,
    shed: 0,
    shedBy: {},
    completed: 0,
    status: STATUS_CLASSES.map(() => 0),
    inflight: 0,
    queueNow: 0,
    queueAvg: 0,
    inflightNow: 0,
    lat: '',
  };
}

/** This gateway's aggregate of `service` for the second starting at `t` (ms, a multiple of 1000). */
export function secondAggregate(signals: Signals, service: string, t: number): SecondAggregate | undefined {
  const s = signals.raw(service);
  if (s === undefined) return undefined;
  const agg = emptyAggregate();
  const hist = createHistogram(HIST_MAX_MS, 2);
  for (const k of s.routes.values()) addKey(agg, k, t, hist);
  agg.queueNow = s.queue.level;
  agg.queueAvg = s.queue.average(t + 1000, 1);
  agg.inflight = Math.max(0, agg.inflight - agg.queueAvg);
  agg.inflightNow = Math.max(0, agg.inflightNow - s.queue.level);
  agg.lat = hist.totalCount > 0 ? encodeIntoCompressedBase64(hist) : '';
  if (s.operations.size > 0) {
    agg.ops = {};
    for (const [op, k] of s.operations) {
      const a = emptyAggregate();
      const h = createHistogram(HIST_MAX_MS, 2);
      addKey(a, k, t, h);
      a.lat = h.totalCount > 0 ? encodeIntoCompressedBase64(h) : '';
      if (a.offered > 0 || a.completed > 0) agg.ops[op] = a;
    }
  }
  return agg;
}

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
  let lastSec = Math.floor(clock.now() / 1000) - 1;
  async function publish(now: number): Promise<number> {
    const cur = Math.floor(now / 1000);
    // at most the last 10 complete seconds: older ones have left the readers' windows anyway
    const from = Math.max(lastSec + 1, cur - 10);
    if (from > cur - 1) return 0;
    const pipe = redis.pipeline();
    let n = 0;
    for (const service of options.services?.() ?? signals.services()) {
      pipe.sadd(`${prefix}sig:services`, service);
      for (let sec = from; sec <= cur - 1; sec++) {
        const agg = secondAggregate(signals, service, sec * 1000);
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

  function merge(parts: SecondAggregate[], windowS: number, gateways: number): ClusterSnapshot {
    let offered = 0;
    let shed = 0;
    let completed = 0;
    let inflight = 0;
    const shedBy: Record<string, number> = {};
    for (const r of SHED_REASONS) shedBy[r] = 0;
    const status = STATUS_CLASSES.map(() => 0);
    const hist = createHistogram(HIST_MAX_MS, 2);
    for (const p of parts) {
      offered += p.offered;
      shed += p.shed;
      completed += p.completed;
      inflight += p.inflight;
      for (const [r, v] of Object.entries(p.shedBy)) shedBy[r] = (shedBy[r] ?? 0) + v;
      p.status.forEach((v, i) => (status[i]! += v));
      if (p.lat) hist.add(decodeFromCompressedBase64(p.lat, 32, false));
    }
    const lat = summarize(hist);
    for (const r of Object.keys(shedBy)) shedBy[r] = shedBy[r]! / windowS;
    const completedRps = completed / windowS;
    const s5xx = status[4]! / windowS;
    return {
      rps: offered / windowS,
      offered_rps: offered / windowS,
      shed_rps: shed / windowS,
      admitted_rps: Math.max(0, offered - shed) / windowS,
      completed_rps: completedRps,
      shed_by_reason: shedBy,
      inflight: inflight / windowS,
      latency: { p50: lat.p50, p95: lat.p95, p99: lat.p99 },
      error_rate: completedRps > 0 ? s5xx / completedRps : 0,
      gateways,
      fresh,
    };
  }

  function snapshot(service: string, now: number, windowS = 10): ClusterSnapshot {
    const n = Math.min(Math.max(1, Math.floor(windowS)), maxWindow);
    const cur = Math.floor(now / 1000);
    const bySec = cache.get(service);
    const parts: SecondAggregate[] = [];
    const ops = new Map<string, SecondAggregate[]>();
    const ids = new Set<string>();
    const latest = new Map<string, SecondAggregate>();
    for (let sec = cur - n; sec <= cur - 1; sec++) {
      const gw = bySec?.get(sec);
      if (gw === undefined) continue;
      for (const [id, a] of gw) {
        ids.add(id);
        latest.set(id, a);
        parts.push(a);
        for (const [op, oa] of Object.entries(a.ops ?? {})) {
          let l = ops.get(op);
          if (l === undefined) ops.set(op, (l = []));
          l.push(oa);
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
        out.operations[op] = {
          rps: m.rps,
          shed_rps: m.shed_rps,
          inflight: m.inflight,
          queue: 0,
          latency: m.latency,
          error_rate: m.error_rate,
        };
      }
    }
    return out;
  }

  const timer = setInterval(() => void refresh(clock.now()), options.refreshMs ?? 1000);
  timer.unref?.();
  void refresh(clock.now());
  return { snapshot, refresh, close: () => clearInterval(timer) };
}
