/**
 * One process's signals for one second, as plain data, and the merge of many of them. This is how
 * signals leave a process: gateway workers send their seconds to the primary over IPC, and cluster
 * gateways publish theirs to Redis. Merging: counts and time-weighted means add up (the mean of a
 * sum is the sum of the means), latency histograms add bucket by bucket and percentiles are read
 * from the sum (never an average of percentiles, which has no meaning). Cost is per second and per
 * key, never per request.
 */
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { createHistogram, summarize } from '../../metrics/latency-window.js';
import { gatewayLoad, SHED_REASONS, STATUS_CLASSES, type KeySignals, type KeyStats } from './key-stats.js';
import type { Signals } from './signals.js';

/** One process's figures for one second of one key (a service, route, operation or instance). */
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
  // Detail, sent only when asked (IPC from workers; Redis publishers keep the lean form).
  bytesIn?: number;
  bytesOut?: number;
  inflightPeak?: number;
  queuePeak?: number;
  /** Queue-wait histogram of the second (µs), compressed base64; '' when empty. */
  qwait?: string;
  /** Event-loop lag of the process over the second (p99, ms), set by whoever sampled it. */
  lag?: number;
  routes?: Record<string, SecondAggregate>;
  instances?: Record<string, SecondAggregate>;
}

/** The same precision as the gateway's windows (10 min, 2 digits), so histograms add exactly. */
const HIST_MAX_MS = 600_000;

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

/** Where addKey sums a key's second: the aggregate, its latency histogram, and whether to add the detail. */
interface KeySink {
  agg: SecondAggregate;
  hist: Histogram;
  detail: boolean;
}

function addKey(sink: KeySink, k: KeyStats, t: number): void {
  const { agg, hist, detail } = sink;
  agg.offered += k.offered.at(t);
  agg.shed += k.shed.at(t);
  for (const [r, w] of k.shedBy) {
    const v = w.at(t);
    if (v > 0) agg.shedBy[r] = (agg.shedBy[r] ?? 0) + v;
  }
  agg.completed += k.completed.at(t);
  STATUS_CLASSES.forEach((_, i) => (agg.status[i]! += k.status[i]!.at(t)));
  agg.inflight += k.inflight.average(t + 1000, 1);
  agg.inflightNow += k.inflight.level;
  // addTo(now, 1) takes the one second containing `now`
  k.latency.addTo(hist, t + 999, 1);
  if (detail) {
    agg.bytesIn = (agg.bytesIn ?? 0) + k.bytesIn.at(t);
    agg.bytesOut = (agg.bytesOut ?? 0) + k.bytesOut.at(t);
    agg.inflightPeak = (agg.inflightPeak ?? 0) + k.inflight.peak(t + 999, 1);
  }
}

function keyAggregate(k: KeyStats, t: number, detail: boolean): SecondAggregate | undefined {
  const a = emptyAggregate();
  const h = createHistogram(HIST_MAX_MS, 2);
  addKey({ agg: a, hist: h, detail }, k, t);
  if (a.offered === 0 && a.completed === 0 && a.shed === 0 && a.inflight === 0 && a.inflightNow === 0)
    return undefined;
  a.lat = h.totalCount > 0 ? encodeIntoCompressedBase64(h) : '';
  return a;
}

/**
 * This process's aggregate of `service` for the second starting at `t` (ms, a multiple of 1000).
 * With `detail`, also bytes, peaks, queue wait and the per-route and per-instance
 * breakdown (what a primary needs to answer snapshots like one process would).
 */
export function secondAggregate(
  signals: Signals,
  service: string,
  t: number,
  options: { detail?: boolean } = {},
): SecondAggregate | undefined {
  const s = signals.raw(service);
  if (s === undefined) return undefined;
  const detail = options.detail ?? false;
  const agg = emptyAggregate();
  const hist = createHistogram(HIST_MAX_MS, 2);
  const sink = { agg, hist, detail };
  for (const k of s.routes.values()) addKey(sink, k, t);
  agg.queueNow = s.queue.level;
  agg.queueAvg = s.queue.average(t + 1000, 1);
  // requests waiting in the queue were started but are not at an instance
  agg.inflight = Math.max(0, agg.inflight - agg.queueAvg);
  agg.inflightNow = Math.max(0, agg.inflightNow - s.queue.level);
  agg.lat = hist.totalCount > 0 ? encodeIntoCompressedBase64(hist) : '';
  if (s.operations.size > 0) {
    agg.ops = {};
    for (const [op, k] of s.operations) {
      const a = keyAggregate(k, t, detail);
      if (a !== undefined && (a.offered > 0 || a.completed > 0)) agg.ops[op] = a;
    }
  }
  if (detail) {
    agg.queuePeak = s.queue.peak(t + 999, 1);
    const qh = createHistogram(HIST_MAX_MS, 2);
    s.queueWait.addTo(qh, t + 999, 1);
    agg.qwait = qh.totalCount > 0 ? encodeIntoCompressedBase64(qh) : '';
    agg.routes = {};
    for (const [r, k] of s.routes) {
      const a = keyAggregate(k, t, true);
      if (a !== undefined) agg.routes[r] = a;
    }
    agg.instances = {};
    for (const [i, k] of s.instances) {
      const a = keyAggregate(k, t, true);
      if (a !== undefined) agg.instances[i] = a;
    }
  }
  return agg;
}

/** Merged figures of one key: KeySignals plus the service-level queue and event-loop detail. */
export interface MergedSignals extends KeySignals {
  queue_now: number;
  queue_avg: number;
  queue_peak: number;
  queue_wait_ms: { p50: number; p95: number; p99: number; mean: number; count: number };
  event_loop_lag_ms: number;
}

/**
 * Merges seconds of aggregates: `seconds` holds, per second of the window, every source's
 * aggregate of that second; `latest` holds each live source's most recent aggregate (its levels
 * "now" are summed); rates are per second over `windowS`. Peaks are the per-second sum of the
 * sources' peaks, maximised over the window: an upper bound, like one process's route sum.
 */
export function mergeSeconds(
  seconds: readonly (readonly SecondAggregate[])[],
  windowS: number,
  latest: readonly SecondAggregate[],
): MergedSignals {
  let offered = 0;
  let shed = 0;
  let completed = 0;
  let inflight = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let queueArea = 0;
  let inflightPeak = 0;
  let queuePeak = 0;
  let lagSum = 0;
  let lagN = 0;
  const shedBy: Record<string, number> = {};
  for (const r of SHED_REASONS) shedBy[r] = 0;
  const status = STATUS_CLASSES.map(() => 0);
  const hist = createHistogram(HIST_MAX_MS, 2);
  const qhist = createHistogram(HIST_MAX_MS, 2);
  for (const parts of seconds) {
    let peak = 0;
    let qpeak = 0;
    let lag = -1;
    for (const p of parts) {
      offered += p.offered;
      shed += p.shed;
      completed += p.completed;
      inflight += p.inflight;
      queueArea += p.queueAvg;
      bytesIn += p.bytesIn ?? 0;
      bytesOut += p.bytesOut ?? 0;
      peak += p.inflightPeak ?? 0;
      qpeak += p.queuePeak ?? 0;
      if (p.lag !== undefined && p.lag > lag) lag = p.lag;
      for (const [r, v] of Object.entries(p.shedBy)) shedBy[r] = (shedBy[r] ?? 0) + v;
      p.status.forEach((v, i) => (status[i]! += v));
      if (p.lat) hist.add(decodeFromCompressedBase64(p.lat, 32, false));
      if (p.qwait) qhist.add(decodeFromCompressedBase64(p.qwait, 32, false));
    }
    if (peak > inflightPeak) inflightPeak = peak;
    if (qpeak > queuePeak) queuePeak = qpeak;
    // a busy loop in any process delays that process's requests: the worst process counts
    if (lag >= 0) {
      lagSum += lag;
      lagN++;
    }
  }
  let inflightNow = 0;
  let queueNow = 0;
  for (const a of latest) {
    inflightNow += a.inflightNow;
    queueNow += a.queueNow;
  }
  const lat = summarize(hist);
  const wait = summarize(qhist);
  for (const r of Object.keys(shedBy)) shedBy[r] = shedBy[r]! / windowS;
  const statusRates = {} as KeySignals['status'];
  STATUS_CLASSES.forEach((c, i) => (statusRates[c] = status[i]! / windowS));
  const completedRps = completed / windowS;
  return {
    ...gatewayLoad({
      offered: offered / windowS,
      shed: shed / windowS,
      completed: completedRps,
      errors: statusRates['5xx'],
      inflight: inflight / windowS,
      queue: queueNow,
      lat,
    }),
    offered_rps: offered / windowS,
    admitted_rps: Math.max(0, offered - shed) / windowS,
    completed_rps: completedRps,
    shed_by_reason: shedBy,
    status: statusRates,
    latency_mean_ms: lat.mean,
    latency_max_ms: lat.max,
    inflight_now: inflightNow,
    inflight_peak: Math.max(inflightPeak, inflightNow),
    bytes_in_per_s: bytesIn / windowS,
    bytes_out_per_s: bytesOut / windowS,
    queue_now: queueNow,
    queue_avg: queueArea / windowS,
    queue_peak: Math.max(queuePeak, queueNow),
    queue_wait_ms: { p50: wait.p50, p95: wait.p95, p99: wait.p99, mean: wait.mean, count: wait.count },
    event_loop_lag_ms: lagN > 0 ? lagSum / lagN : 0,
  };
}

/**
 * Merges one breakdown (`pick` = routes, instances or ops) key by key with {@link mergeSeconds}.
 */
export function mergeKeyed(
  seconds: readonly (readonly SecondAggregate[])[],
  windowS: number,
  latest: readonly SecondAggregate[],
  pick: (a: SecondAggregate) => Record<string, SecondAggregate> | undefined,
): Record<string, KeySignals> {
  const bySec = new Map<string, SecondAggregate[][]>();
  seconds.forEach((parts, i) => {
    for (const p of parts) {
      for (const [name, a] of Object.entries(pick(p) ?? {})) {
        let l = bySec.get(name);
        if (l === undefined) bySec.set(name, (l = seconds.map(() => [])));
        l[i]!.push(a);
      }
    }
  });
  const out: Record<string, KeySignals> = {};
  for (const [name, secs] of bySec) {
    const now: SecondAggregate[] = [];
    for (const a of latest) {
      const k = pick(a)?.[name];
      if (k !== undefined) now.push(k);
    }
    const m = mergeSeconds(secs, windowS, now);
    out[name] = keyPart(m);
  }
  return out;
}

/** The KeySignals part of merged figures (a key's own queue is 0: queues are per service). */
function keyPart(m: MergedSignals): KeySignals {
  const {
    queue_now: _qn,
    queue_avg: _qa,
    queue_peak: _qp,
    queue_wait_ms: _qw,
    event_loop_lag_ms: _l,
    ...k
  } = m;
  return { ...k, queue: 0 };
}

/**
 * Sums several processes' aggregates of the same second into one (the lean form: what one
 * process with all their traffic would have published; operations are summed too).
 */
export function sumAggregates(parts: readonly SecondAggregate[]): SecondAggregate {
  const out = emptyAggregate();
  const hist = createHistogram(HIST_MAX_MS, 2);
  const ops = new Map<string, SecondAggregate[]>();
  for (const p of parts) {
    out.offered += p.offered;
    out.shed += p.shed;
    out.completed += p.completed;
    out.inflight += p.inflight;
    out.inflightNow += p.inflightNow;
    out.queueNow += p.queueNow;
    out.queueAvg += p.queueAvg;
    for (const [r, v] of Object.entries(p.shedBy)) out.shedBy[r] = (out.shedBy[r] ?? 0) + v;
    p.status.forEach((v, i) => (out.status[i]! += v));
    if (p.lat) hist.add(decodeFromCompressedBase64(p.lat, 32, false));
    for (const [op, a] of Object.entries(p.ops ?? {})) {
      let l = ops.get(op);
      if (l === undefined) ops.set(op, (l = []));
      l.push(a);
    }
  }
  out.lat = hist.totalCount > 0 ? encodeIntoCompressedBase64(hist) : '';
  if (ops.size > 0) out.ops = Object.fromEntries([...ops].map(([op, l]) => [op, sumAggregates(l)]));
  return out;
}
