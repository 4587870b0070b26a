/**
 * Prometheus exposition (prom-client registry) collected on scrape from the signals' windows, so the
 * request path pays nothing extra: no per-request `inc()`, the counters are the windows' running
 * totals. Naming follows Prometheus conventions (https://prometheus.io/docs/practices/naming/):
 * `luascale_` prefix, base units (seconds), `_total` on counters. Labels are bounded: service, the
 * route *template* (never the raw path), status class, shed reason, and instance ids that are
 * forgotten when instances leave.
 */
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { DURATION_BUCKETS_S, SHED_REASONS, STATUS_CLASSES, type KeyStats } from './signals/key-stats.js';
import type { Signals } from './signals/signals.js';

/** What the collector reads from a service's admission (AdmissionStats fits). */
export interface AdmissionStatsLike {
  queue: number;
  inflight: number;
  limit: number;
  adaptiveLimit?: number;
  adaptive?: { minRttMs: number; sampleRttMs: number; gradient: number; burstHeadroom: number };
}

/** Options of the metrics registry. */
export interface PrometheusOptions {
  signals: Signals;
  clock: Clock;
  /** Admission state of a service, if it has one. */
  admission?: (service: string) => AdmissionStatsLike | undefined;
  /** Services to expose (default: those the signals have seen). */
  services?: () => Iterable<string>;
  /** Also expose prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
  /** Window for the event-loop lag and queue-wait quantiles, seconds (default 10). */
  windowS?: number;
}

/** The registry and its text rendering. */
export interface PrometheusExporter {
  readonly registry: Registry;
  /** The `Content-Type` of `renderMetrics()` output. */
  readonly contentType: string;
  /** The exposition text (text format 0.0.4). */
  renderMetrics(): Promise<string>;
}

type Labels = Record<string, string | number>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}
type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Registers metrics on `registry` whose samples are computed on scrape (prom-client calls `get()`). */
function collector(
  registry: Registry,
): (name: string, help: string, type: MetricType, collect: (out: Sample[]) => void) => void {
  return (name, help, type, collect) => collected(registry, { name, help, type }, collect);
}

/** A metric whose samples are computed on scrape. */
function collected(
  registry: Registry,
  spec: { name: string; help: string; type: MetricType },
  collect: (out: Sample[]) => void,
): void {
  const { name, help, type } = spec;
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      const values: Sample[] = [];
      collect(values);
      return { name, help, type, values, aggregator: 'sum' };
    },
    reset() {},
  };
  registry.registerMetric(metric as unknown as Metric<string>);
}

/** Creates the registry with every luascale metric, collected from `signals` on scrape. */
export function createPrometheus(options: PrometheusOptions): PrometheusExporter {
  const { signals, clock } = options;
  const registry = new Registry();
  const collect = collector(registry);
  const windowS = options.windowS ?? 10;
  const services = () => options.services?.() ?? signals.services();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges `_total`, which the naming rules (and promtool) reserve for counters
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      registry.removeSingleMetric(name);
    }
  }

  /** Calls `fn` for every route of every service. */
  function eachRoute(fn: (service: string, route: string, k: KeyStats) => void): void {
    for (const service of services()) {
      const raw = signals.raw(service);
      if (raw !== undefined) for (const [route, k] of raw.routes) fn(service, route, k);
    }
  }

  collect(
    'luascale_requests_offered_total',
    'Requests that matched a route (admitted + shed).',
    'counter',
    (out) =>
      eachRoute((service, route, k) => out.push({ labels: { service, route }, value: k.offered.total })),
  );

  collect('luascale_requests_total', 'Requests answered by an upstream, by status class.', 'counter', (out) =>
    eachRoute((service, route, k) =>
      STATUS_CLASSES.forEach((code_class, i) => {
        const value = k.status[i]!.total;
        if (value > 0 || code_class === '2xx') out.push({ labels: { service, route, code_class }, value });
      }),
    ),
  );

  collect(
    'luascale_shed_total',
    'Requests turned away by admission (429/503) or limits, by reason.',
    'counter',
    (out) =>
      eachRoute((service, route, k) => {
        for (const reason of SHED_REASONS)
          out.push({ labels: { service, route, reason }, value: k.shedBy.get(reason)?.total ?? 0 });
        for (const [reason, w] of k.shedBy) {
          if (!(SHED_REASONS as readonly string[]).includes(reason))
            out.push({ labels: { service, route, reason }, value: w.total });
        }
      }),
  );

  collect(
    'luascale_request_duration_seconds',
    'Time from arrival to the end of the response, for requests sent upstream.',
    'histogram',
    (out) =>
      eachRoute((service, route, k) => {
        let cumulative = 0;
        DURATION_BUCKETS_S.forEach((le, i) => {
          cumulative += k.buckets[i]!;
          out.push({
            metricName: 'luascale_request_duration_seconds_bucket',
            labels: { service, route, le },
            value: cumulative,
          });
        });
        cumulative += k.buckets[DURATION_BUCKETS_S.length]!;
        out.push({
          metricName: 'luascale_request_duration_seconds_bucket',
          labels: { service, route, le: '+Inf' },
          value: cumulative,
        });
        out.push({
          metricName: 'luascale_request_duration_seconds_sum',
          labels: { service, route },
          value: k.latency.totalMs / 1000,
        });
        out.push({
          metricName: 'luascale_request_duration_seconds_count',
          labels: { service, route },
          value: cumulative,
        });
      }),
  );

  collect(
    'luascale_inflight_requests',
    'Requests in flight at the instances of a service.',
    'gauge',
    (out) => {
      for (const service of services()) {
        const a = options.admission?.(service);
        out.push({ labels: { service }, value: a !== undefined ? a.inflight : signals.inflightNow(service) });
      }
    },
  );

  collect('luascale_instance_inflight_requests', 'Requests in flight per instance.', 'gauge', (out) => {
    for (const service of services()) {
      const raw = signals.raw(service);
      if (raw !== undefined)
        for (const [instance, k] of raw.instances)
          out.push({ labels: { service, instance }, value: k.inflight.level });
    }
  });

  collect('luascale_queue_depth', 'Requests waiting in the admission queue.', 'gauge', (out) => {
    for (const service of services()) {
      const a = options.admission?.(service);
      out.push({ labels: { service }, value: a?.queue ?? signals.raw(service)?.queue.level ?? 0 });
    }
  });

  collect(
    'luascale_queue_wait_seconds',
    `Time requests waited in the admission queue (quantiles over the last ${windowS} s).`,
    'summary',
    (out) => {
      const now = clock.now();
      for (const service of services()) {
        const raw = signals.raw(service);
        if (raw === undefined) continue;
        const p = raw.queueWait.percentiles(now, windowS);
        for (const [quantile, v] of [
          [0.5, p.p50],
          [0.95, p.p95],
          [0.99, p.p99],
        ] as const) {
          out.push({ labels: { service, quantile }, value: v / 1000 });
        }
        out.push({
          metricName: 'luascale_queue_wait_seconds_sum',
          labels: { service },
          value: raw.queueWait.totalMs / 1000,
        });
        out.push({
          metricName: 'luascale_queue_wait_seconds_count',
          labels: { service },
          value: raw.queueWait.totalCount,
        });
      }
    },
  );

  collect(
    'luascale_concurrency_limit',
    'Effective concurrency limit of a service (per_instance × ready, or adaptive).',
    'gauge',
    (out) => {
      for (const service of services()) {
        const a = options.admission?.(service);
        if (a !== undefined) out.push({ labels: { service }, value: a.limit });
      }
    },
  );

  collect(
    'luascale_concurrency_headroom',
    'Concurrency limit minus requests in flight: room before queueing.',
    'gauge',
    (out) => {
      for (const service of services()) {
        const a = options.admission?.(service);
        if (a !== undefined) out.push({ labels: { service }, value: Math.max(0, a.limit - a.inflight) });
      }
    },
  );

  const adaptive = (
    name: string,
    help: string,
    pick: (a: NonNullable<AdmissionStatsLike['adaptive']>, s: AdmissionStatsLike) => number,
  ) =>
    collect(name, help, 'gauge', (out) => {
      for (const service of services()) {
        const a = options.admission?.(service);
        if (a?.adaptive !== undefined) out.push({ labels: { service }, value: pick(a.adaptive, a) });
      }
    });
  adaptive(
    'luascale_adaptive_concurrency_limit',
    'Limit computed by the gradient controller (Envoy concurrency_limit).',
    (_, s) => s.adaptiveLimit ?? 0,
  );
  adaptive(
    'luascale_adaptive_min_rtt_seconds',
    'Measured minimum round-trip time (Envoy min_rtt).',
    (a) => a.minRttMs / 1000,
  );
  adaptive(
    'luascale_adaptive_sample_rtt_seconds',
    'Round-trip time of the last sampling window (Envoy sample_rtt).',
    (a) => a.sampleRttMs / 1000,
  );
  adaptive(
    'luascale_adaptive_gradient',
    'minRTT·(1+buffer)/sampleRTT, clamped to [0.5, 2] (Envoy gradient).',
    (a) => a.gradient,
  );
  adaptive(
    'luascale_adaptive_burst_headroom',
    'sqrt(limit·gradient): queueing room the controller allows (Envoy burst_queue_size).',
    (a) => a.burstHeadroom,
  );

  collect(
    'luascale_event_loop_lag_seconds',
    `Gateway event-loop lag, mean of per-second p99 over ${windowS} s.`,
    'gauge',
    (out) => {
      const now = clock.now();
      signals.eventLoop.sample(now);
      out.push({ labels: {}, value: signals.eventLoop.lagMs(now, windowS) / 1000 });
    },
  );

  return {
    registry,
    contentType: registry.contentType,
    renderMetrics: () => registry.metrics(),
  };
}

/** Renders the metrics of a registry (the admin listener's `/metrics`). */
export function renderMetrics(exporter: PrometheusExporter): Promise<string> {
  return exporter.renderMetrics();
}
