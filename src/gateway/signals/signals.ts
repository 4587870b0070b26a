/**
 * The gateway's measurements, per service, route, operation and instance, over sliding windows of
 * 1 s buckets (60 s kept). The proxy reports events (start, shed, end, queue); the controller reads
 * `snapshot(service, now)` each tick as its Observation's load part, and Prometheus reads the same
 * windows on scrape. Recording is O(1) and allocation-free once a key exists.
 *
 * What the figures mean (all per second over complete seconds of the window, except where noted):
 * offered = every request that matched a route; shed = turned away (by reason); admitted =
 * offered − shed; completed = answered by an upstream. `inflight` is the time-weighted average in
 * flight at the instances (Knative's average concurrency), i.e. started, not yet ended or shed, and
 * not waiting in the queue. `queue` is the queue depth now (scale from zero must be seen at once).
 */
import type { Clock } from '../../core/clock.js';
import { TimeWeightedGauge } from '../../metrics/time-weighted-gauge.js';
import type { LoadSignals } from '../../policy/policy.js';
import { createEventLoopLag, type EventLoopLag } from './event-loop-lag.js';
import { createHistogram, LatencyWindow } from '../../metrics/latency-window.js';
import { KeyStats, keySignals, sumSignals, type KeySignals } from './key-stats.js';

/** One request's end, as the proxy reports it. */
export interface EndEvent {
  /** When the request ended on the gateway's clock (default: read at onEnd). */
  at?: number;
  route: string;
  service: string;
  operationId?: string;
  instance: string;
  status: number;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** A service's signals over a window: LoadSignals (the autoscaler's input) and the detail. */
export interface ServiceSignals extends LoadSignals, Omit<KeySignals, keyof LoadSignals> {
  service: string;
  /** The window the rates are averaged over, seconds. */
  window_s: number;
  /** Queue depth: now, time-weighted mean and peak over the window. */
  queue_now: number;
  queue_avg: number;
  queue_peak: number;
  /** Time spent waiting in the queue by requests that left it during the window, ms. */
  queue_wait_ms: { p50: number; p95: number; p99: number; mean: number; count: number };
  /** Mean per-second p99 event-loop lag of the gateway process, ms. */
  event_loop_lag_ms: number;
  routes: Record<string, KeySignals>;
  operations: Record<string, KeySignals>;
  instances: Record<string, KeySignals>;
}

/** The signals sink and reader. */
export interface Signals {
  /**
   * A request matched `route` of `service` (offered). Pass `instance` only if already chosen;
   * `now` when the caller has just read the clock (the hot path saves a read per event).
   */
  onStart(route: string, service: string, instance?: string, now?: number): void;
  /** The request was sent to `instance` (its in-flight count; the service's is kept by onStart). */
  onDispatch(service: string, instance: string, now?: number): void;
  /** A dispatched request finished. */
  onEnd(e: EndEvent): void;
  /** A request was turned away (`rate_limit`, `queue_full`, `queue_timeout`, `at_capacity`, ...). */
  onShed(route: string, service: string, reason: string): void;
  /** Queue depth changed; `waitMs` is given when a waiter left the queue. */
  onQueue(service: string, depth: number, waitMs?: number): void;
  /** The service's signals at `now` over the last `windowS` seconds (default 10). */
  snapshot(service: string, now: number, windowS?: number): ServiceSignals;
  /** Services seen so far. */
  services(): string[];
  /** Forgets an instance that left the pool (bounded cardinality). */
  forgetInstance(service: string, instance: string): void;
  /** In flight at a service's instances right now (started, not ended or shed, not queued). */
  inflightNow(service: string): number;
  /** Raw windows, for the Prometheus collector. */
  raw(service: string): ServiceStats | undefined;
  /** Event-loop lag tracker of this process. */
  readonly eventLoop: EventLoopLag;
  /** Stops the event-loop monitor. */
  close(): void;
}

/** Every window kept for one service. */
export interface ServiceStats {
  routes: Map<string, KeyStats>;
  operations: Map<string, KeyStats>;
  instances: Map<string, KeyStats>;
  queue: TimeWeightedGauge;
  queueWait: LatencyWindow;
}

/** Options: substitute the event-loop lag tracker in tests. */
export interface SignalsOptions {
  eventLoop?: EventLoopLag;
  /** Instances idle this long (ms) are dropped from snapshots and memory (default 120 000). */
  instanceIdleMs?: number;
}

/** Creates the signals of this gateway process; `clock` timestamps the events. */
export function createSignals(clock: Clock, options: SignalsOptions = {}): Signals {
  const services = new Map<string, ServiceStats>();
  const eventLoop = options.eventLoop ?? createEventLoopLag();
  const idleMs = options.instanceIdleMs ?? 120_000;
  // same precision as every LatencyWindow (10 min, 2 digits), so histograms add bucket by bucket
  const merged = createHistogram(600_000, 2);

  function emptyStats(now: number): ServiceStats {
    return {
      routes: new Map(),
      operations: new Map(),
      instances: new Map(),
      queue: new TimeWeightedGauge(60, now),
      queueWait: new LatencyWindow(),
    };
  }

  function svc(name: string): ServiceStats {
    let s = services.get(name);
    if (s === undefined) {
      s = emptyStats(clock.now());
      services.set(name, s);
    }
    return s;
  }

  function key(map: Map<string, KeyStats>, name: string, now: number): KeyStats {
    let k = map.get(name);
    if (k === undefined) {
      k = new KeyStats(now);
      map.set(name, k);
    }
    return k;
  }

  function snapshotMap(
    map: Map<string, KeyStats>,
    now: number,
    windowS: number,
    forgetIdle: boolean,
  ): Record<string, KeySignals> {
    const out: Record<string, KeySignals> = {};
    for (const [name, k] of map) {
      if (forgetIdle && k.inflight.level === 0 && now - k.lastSeen > idleMs) {
        map.delete(name);
        continue;
      }
      out[name] = keySignals(k, now, windowS);
    }
    return out;
  }

  return {
    eventLoop,
    onStart(route, service, instance, at) {
      const now = at ?? clock.now();
      const s = svc(service);
      key(s.routes, route, now).start(now);
      if (instance !== undefined) key(s.instances, instance, now).start(now);
    },
    onDispatch(service, instance, at) {
      const now = at ?? clock.now();
      key(svc(service).instances, instance, now).start(now);
    },
    onEnd(e) {
      const now = e.at ?? clock.now();
      const s = svc(e.service);
      key(s.routes, e.route, now).end(now, e);
      if (e.operationId !== undefined) {
        // operations have no start event: count the completion as offered too
        const op = key(s.operations, e.operationId, now);
        op.offered.add(now);
        op.end(now, e);
      }
      if (e.instance) {
        const inst = key(s.instances, e.instance, now);
        // without onDispatch the instance saw no start: count its offered load here
        if (inst.inflight.level === 0) inst.offered.add(now);
        inst.end(now, e);
      }
    },
    onShed(route, service, reason) {
      const now = clock.now();
      const s = svc(service);
      key(s.routes, route, now).shedOne(now, reason);
    },
    onQueue(service, depth, waitMs) {
      const now = clock.now();
      const s = svc(service);
      s.queue.set(now, depth);
      if (waitMs !== undefined) s.queueWait.record(now, waitMs);
    },
    snapshot(service, now, windowS = 10) {
      eventLoop.sample(now);
      // reading an unknown service answers zeros without registering it
      const s = services.get(service) ?? emptyStats(now);
      // the service's figures are the sum of its routes' (one fewer key to update per request)
      const routes = snapshotMap(s.routes, now, windowS, false);
      merged.reset();
      for (const k of s.routes.values()) k.latency.addTo(merged, now, windowS);
      const total = sumSignals(Object.values(routes), merged);
      const queueAvg = s.queue.average(now, windowS);
      const wait = s.queueWait.percentiles(now, windowS);
      return {
        ...total,
        service,
        window_s: windowS,
        // requests waiting in the queue were started but are not at an instance
        inflight: Math.max(0, total.inflight - queueAvg),
        inflight_now: Math.max(0, total.inflight_now - s.queue.level),
        queue: s.queue.level,
        queue_now: s.queue.level,
        queue_avg: queueAvg,
        queue_peak: s.queue.peak(now, windowS),
        queue_wait_ms: { p50: wait.p50, p95: wait.p95, p99: wait.p99, mean: wait.mean, count: wait.count },
        event_loop_lag_ms: eventLoop.lagMs(now, windowS),
        routes,
        operations: snapshotMap(s.operations, now, windowS, false),
        instances: snapshotMap(s.instances, now, windowS, true),
      };
    },
    services: () => [...services.keys()],
    forgetInstance(service, instance) {
      services.get(service)?.instances.delete(instance);
    },
    raw: (service) => services.get(service),
    inflightNow(service) {
      const s = services.get(service);
      if (s === undefined) return 0;
      let n = 0;
      for (const k of s.routes.values()) n += k.inflight.level;
      return Math.max(0, n - s.queue.level);
    },
    close: () => eventLoop.close(),
  };
}
