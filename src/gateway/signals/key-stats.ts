/**
 * The windows kept for one key (a service, a route, an operation or an instance). Every hot-path
 * method is O(1) and allocation-free: ring-buffer adds and one HdrHistogram record.
 * Lifecycle of a request as the gateway reports it: start (offered, in flight +1), then exactly
 * one of shed (in flight −1) or end (completed, in flight −1).
 */
import type { Histogram } from 'hdr-histogram-js';
import { LatencyWindow, summarize, type LatencyPercentiles } from '../../metrics/latency-window.js';
import { SlidingWindow } from '../../metrics/sliding-window.js';
import { TimeWeightedGauge } from '../../metrics/time-weighted-gauge.js';
import type { LoadSignals } from '../../policy/policy.js';
import { loadSignalsOf, signalIndexes, SIGNAL_PATHS } from '../../signals/index.js';

/** Status classes in order; index 5 is "no status" (connection lost before a response). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const;

/** Shed reasons always present in snapshots (others appear once seen, e.g. body_too_large). */
export const SHED_REASONS = ['rate_limit', 'queue_full', 'queue_timeout', 'at_capacity'] as const;

/** Upper bounds (seconds) of the Prometheus request-duration histogram buckets. */
export const DURATION_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const BUCKET_MS = DURATION_BUCKETS_S.map((s) => s * 1000);

/** How one request ended, as KeyStats#end records it (the proxy's end event is one). */
export interface Completion {
  status: number;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** Counters, levels and latencies of one key. */
export class KeyStats {
  readonly offered = new SlidingWindow();
  readonly shed = new SlidingWindow();
  readonly shedBy = new Map<string, SlidingWindow>();
  readonly completed = new SlidingWindow();
  readonly status = STATUS_CLASSES.map(() => new SlidingWindow());
  readonly bytesIn = new SlidingWindow();
  readonly bytesOut = new SlidingWindow();
  readonly latency = new LatencyWindow();
  readonly inflight: TimeWeightedGauge;
  /** Cumulative counts per duration bucket (last = +Inf), for Prometheus. */
  readonly buckets = new Float64Array(DURATION_BUCKETS_S.length + 1);
  /** Last time anything was recorded (to forget idle instances). */
  lastSeen: number;

  constructor(now: number) {
    this.inflight = new TimeWeightedGauge(60, now);
    this.lastSeen = now;
  }

  /** A request arrived (offered load). */
  start(now: number): void {
    this.offered.add(now);
    this.inflight.add(now, 1);
    this.lastSeen = now;
  }

  /** A request was turned away. */
  shedOne(now: number, reason: string): void {
    this.shed.add(now);
    let w = this.shedBy.get(reason);
    if (w === undefined) {
      w = new SlidingWindow();
      this.shedBy.set(reason, w);
    }
    w.add(now);
    this.leave(now);
  }

  /** A request finished with `e.status` after `e.latencyMs`. */
  end(now: number, e: Completion): void {
    const { status, latencyMs, bytesIn, bytesOut } = e;
    this.completed.add(now);
    const c = status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 5;
    this.status[c]!.add(now);
    if (bytesIn > 0) this.bytesIn.add(now, bytesIn);
    if (bytesOut > 0) this.bytesOut.add(now, bytesOut);
    this.latency.record(now, latencyMs);
    let i = 0;
    while (i < BUCKET_MS.length && latencyMs > BUCKET_MS[i]!) i++;
    this.buckets[i]! += 1;
    this.leave(now);
  }

  /** In flight −1, never below 0 (a shed or end without a start must not go negative). */
  leave(now: number): void {
    this.lastSeen = now;
    if (this.inflight.level > 0) this.inflight.add(now, -1);
  }
}

/** Load figures of one key over a window: LoadSignals plus the gateway's own detail. */
export interface KeySignals extends LoadSignals {
  offered_rps: number;
  admitted_rps: number;
  completed_rps: number;
  shed_by_reason: Record<string, number>;
  /** Completions per second by status class. */
  status: Record<(typeof STATUS_CLASSES)[number], number>;
  latency_mean_ms: number;
  latency_max_ms: number;
  /** In flight right now. */
  inflight_now: number;
  /** Highest in flight during the window. */
  inflight_peak: number;
  bytes_in_per_s: number;
  bytes_out_per_s: number;
}

/** A window's rates (per second) and levels at the gateway, the inputs of its load signals. */
export interface GatewayRates {
  offered: number;
  shed: number;
  completed: number;
  /** 5xx completions. */
  errors: number;
  inflight: number;
  queue: number;
  lat: { p50: number; p95: number; p99: number };
}

/**
 * The catalogue's load signals as the gateway measures them (src/signals/catalog.ts): offered,
 * shed, in flight, queue, latency percentiles and the 5xx share. CPU and memory come from the
 * instances, not from here.
 */
export function gatewayLoad(r: GatewayRates): LoadSignals {
  return {
    cpu: 0,
    memory: 0,
    rps: r.offered,
    inflight: r.inflight,
    queue: r.queue,
    shed_rps: r.shed,
    latency: { p50: r.lat.p50, p95: r.lat.p95, p99: r.lat.p99 },
    error_rate: r.completed > 0 ? r.errors / r.completed : 0,
  };
}

/** Reads one key's windows at `now` over `windowS` seconds. */
export function keySignals(k: KeyStats, now: number, windowS: number): KeySignals {
  const offered = k.offered.rate(now, windowS);
  const shed = k.shed.rate(now, windowS);
  const completed = k.completed.rate(now, windowS);
  const byReason: Record<string, number> = {};
  for (const r of SHED_REASONS) byReason[r] = 0;
  for (const [r, w] of k.shedBy) byReason[r] = w.rate(now, windowS);
  const status = {} as KeySignals['status'];
  STATUS_CLASSES.forEach((c, i) => (status[c] = k.status[i]!.rate(now, windowS)));
  const lat: LatencyPercentiles = k.latency.percentiles(now, windowS);
  return {
    ...gatewayLoad({
      offered,
      shed,
      completed,
      errors: status['5xx'],
      inflight: k.inflight.average(now, windowS),
      queue: 0,
      lat,
    }),
    offered_rps: offered,
    admitted_rps: Math.max(0, offered - shed),
    completed_rps: completed,
    shed_by_reason: byReason,
    status,
    latency_mean_ms: lat.mean,
    latency_max_ms: lat.max,
    inflight_now: k.inflight.level,
    inflight_peak: k.inflight.peak(now, windowS),
    bytes_in_per_s: k.bytesIn.rate(now, windowS),
    bytes_out_per_s: k.bytesOut.rate(now, windowS),
  };
}

/**
 * Sums per-route signals into the service's: rates, levels and time-weighted averages add up
 * (an average of a sum is the sum of the averages); percentiles come from `merged`, the routes'
 * histograms added together. `inflight_peak` is the sum of the route peaks, an upper bound.
 */
export function sumSignals(parts: KeySignals[], merged: Histogram): KeySignals {
  const out = keySignalsZero();
  const sums = out as unknown as Record<string, number>;
  for (const p of parts) {
    out.offered_rps += p.offered_rps;
    out.admitted_rps += p.admitted_rps;
    out.completed_rps += p.completed_rps;
    const from = p as unknown as Record<string, number>;
    for (const f of SUMMED) sums[f] += from[f]!;
    out.inflight_now += p.inflight_now;
    out.inflight_peak += p.inflight_peak;
    out.bytes_in_per_s += p.bytes_in_per_s;
    out.bytes_out_per_s += p.bytes_out_per_s;
    for (const [r, v] of Object.entries(p.shed_by_reason))
      out.shed_by_reason[r] = (out.shed_by_reason[r] ?? 0) + v;
    for (const c of STATUS_CLASSES) out.status[c] += p.status[c];
  }
  out.error_rate = out.completed_rps > 0 ? out.status['5xx'] / out.completed_rps : 0;
  const lat = summarize(merged);
  out.latency = { p50: lat.p50, p95: lat.p95, p99: lat.p99 };
  out.latency_mean_ms = lat.mean;
  out.latency_max_ms = lat.max;
  return out;
}

function keySignalsZero(): KeySignals {
  const byReason: Record<string, number> = {};
  for (const r of SHED_REASONS) byReason[r] = 0;
  const status = {} as KeySignals['status'];
  for (const c of STATUS_CLASSES) status[c] = 0;
  return {
    ...loadSignalsOf({}),
    offered_rps: 0,
    admitted_rps: 0,
    completed_rps: 0,
    shed_by_reason: byReason,
    status,
    latency_mean_ms: 0,
    latency_max_ms: 0,
    inflight_now: 0,
    inflight_peak: 0,
    bytes_in_per_s: 0,
    bytes_out_per_s: 0,
  };
}

/** Flat load signals that add up across routes (error rate and percentiles are recomputed). */
const SUMMED = signalIndexes((s) => s.source === 'gateway' && s.aggregate === 'sum').map(
  (i) => SIGNAL_PATHS[i]![0],
);
