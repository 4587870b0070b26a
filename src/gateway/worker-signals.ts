/**
 * Signals of a `workers: N` gateway, merged in the primary. Each worker records its own requests
 * (src/gateway/signals/signals.ts) and, once per second, sends the primary every complete second
 * since its last report as detailed {@link SecondAggregate}s (cost per second and per key, never
 * per request). `createWorkerSignals` keeps the last 60 s of every worker's seconds and answers
 * `snapshot` by merging them with the same code cluster gateways use through Redis, so the
 * controller sees the cluster's offered, admitted, completed and shed rates, status classes,
 * percentiles of the summed histograms, in-flight and queue levels, per service, route, instance
 * and operation, like one process would. Seconds of a worker that died stay counted (they
 * happened); its levels "now" leave with it.
 */
import type { Clock } from '../core/clock.js';
import {
  mergeKeyed,
  mergeSeconds,
  secondAggregate,
  sumAggregates,
  type SecondAggregate,
} from './signals/second-aggregate.js';
import type { EventLoopLag } from './signals/event-loop-lag.js';
import type { ServiceSignals, Signals } from './signals/signals.js';

/** One worker's report: `secs[i]` is second `from + i` (epoch seconds), per service. */
export interface WorkerSignalsReport {
  from: number;
  secs: Array<Record<string, SecondAggregate>>;
}

/** The primary's merged view: a Signals (recording is a no-op here) fed by worker reports. */
export interface WorkerSignals extends Signals {
  /** Stores a worker's report. */
  ingest(worker: number, report: WorkerSignalsReport): void;
  /** A worker left: its levels no longer count (its past seconds still do). */
  forgetWorker(worker: number): void;
  /** The merged aggregate of every worker for the second starting at `t` (for cluster publishing). */
  secondAggregate(service: string, t: number): SecondAggregate | undefined;
}

const KEPT_SECONDS = 62;

/** True for the primary's merged signals (which answer merged seconds themselves). */
export function isWorkerSignals(s: Signals): s is WorkerSignals {
  return typeof (s as Partial<WorkerSignals>).ingest === 'function';
}

/** Creates the primary's merged signals. */
export function createWorkerSignals(clock: Clock): WorkerSignals {
  // second → worker → service → aggregate
  const seconds = new Map<number, Map<number, Record<string, SecondAggregate>>>();
  // worker → its latest second's aggregates (levels "now")
  const latest = new Map<number, Record<string, SecondAggregate>>();
  const known = new Set<string>();
  let newest = 0;

  function collect(service: string, from: number, to: number): SecondAggregate[][] {
    const out: SecondAggregate[][] = [];
    for (let sec = from; sec <= to; sec++) {
      const parts: SecondAggregate[] = [];
      for (const byService of seconds.get(sec)?.values() ?? []) {
        const a = byService[service];
        if (a !== undefined) parts.push(a);
      }
      out.push(parts);
    }
    return out;
  }

  function latestOf(service: string): SecondAggregate[] {
    const out: SecondAggregate[] = [];
    for (const byService of latest.values()) {
      const a = byService[service];
      if (a !== undefined) out.push(a);
    }
    return out;
  }

  function snapshot(service: string, now: number, windowS = 10): ServiceSignals {
    const n = Math.min(Math.max(1, Math.floor(windowS)), KEPT_SECONDS - 2);
    const cur = Math.floor(now / 1000);
    // the complete seconds before the current one, as a SlidingWindow's rate reads them
    const secs = collect(service, cur - n, cur - 1);
    const now1 = latestOf(service);
    const m = mergeSeconds(secs, n, now1);
    return {
      ...m,
      service,
      window_s: n,
      queue: m.queue_now,
      routes: mergeKeyed(secs, n, now1, (a) => a.routes),
      operations: mergeKeyed(secs, n, now1, (a) => a.ops),
      instances: mergeKeyed(secs, n, now1, (a) => a.instances),
    };
  }

  // The worst worker's lag per second, as one process's tracker would read it.
  const eventLoop: EventLoopLag = {
    sample() {},
    lagMs(now, windowS) {
      const cur = Math.floor(now / 1000);
      let sum = 0;
      let count = 0;
      for (let sec = cur - Math.max(1, Math.floor(windowS)) + 1; sec <= cur; sec++) {
        let max = -1;
        for (const byService of seconds.get(sec)?.values() ?? [])
          for (const a of Object.values(byService)) if (a.lag !== undefined && a.lag > max) max = a.lag;
        if (max >= 0) {
          sum += max;
          count++;
        }
      }
      return count > 0 ? sum / count : 0;
    },
    maxLagMs(now, windowS) {
      const cur = Math.floor(now / 1000);
      let max = 0;
      for (let sec = cur - Math.max(1, Math.floor(windowS)) + 1; sec <= cur; sec++)
        for (const byService of seconds.get(sec)?.values() ?? [])
          for (const a of Object.values(byService)) if (a.lag !== undefined && a.lag > max) max = a.lag;
      return max;
    },
    close() {},
  };

  return {
    eventLoop,
    onStart() {},
    onDispatch() {},
    onEnd() {},
    onShed() {},
    onQueue() {},
    snapshot,
    services: () => [...known],
    forgetInstance() {},
    inflightNow: (service) => latestOf(service).reduce((n, a) => n + a.inflightNow, 0),
    // Prometheus in the primary aggregates the workers' own registries instead (cluster-primary.ts).
    raw: () => undefined,
    close() {},
    ingest(worker, report) {
      report.secs.forEach((byService, i) => {
        const sec = report.from + i;
        let m = seconds.get(sec);
        if (m === undefined) seconds.set(sec, (m = new Map()));
        m.set(worker, byService);
        for (const s of Object.keys(byService)) known.add(s);
        if (sec > newest) newest = sec;
      });
      const last = report.secs[report.secs.length - 1];
      if (last !== undefined) latest.set(worker, last);
      const oldest = Math.max(newest, Math.floor(clock.now() / 1000)) - KEPT_SECONDS;
      for (const sec of seconds.keys()) if (sec < oldest) seconds.delete(sec);
    },
    forgetWorker(worker) {
      latest.delete(worker);
    },
    secondAggregate(service, t) {
      const sec = Math.floor(t / 1000);
      const parts = collect(service, sec, sec)[0]!;
      if (parts.length === 0) return undefined;
      return sumAggregates(parts);
    },
  };
}

/** Options of the worker-side reporter. */
export interface WorkerSignalsReporterOptions {
  signals: Signals;
  clock: Clock;
  /** Services to report. */
  services: () => Iterable<string>;
  send: (report: WorkerSignalsReport) => void;
}

/**
 * Reports this worker's complete seconds (at most the last 10) right after each second boundary,
 * so the primary has second s a few ms after it ends.
 */
export function startWorkerSignalsReporter(options: WorkerSignalsReporterOptions): {
  report(now: number): void;
  close(): void;
} {
  const { signals, clock } = options;
  let lastSec = Math.floor(clock.now() / 1000) - 1;
  function report(now: number): void {
    const cur = Math.floor(now / 1000);
    const from = Math.max(lastSec + 1, cur - 10);
    if (from > cur - 1) return;
    // the reading taken now covers the time since the last one: the second just ended
    signals.eventLoop.sample(now);
    const lag = signals.eventLoop.lagMs(now, 1);
    const secs: Array<Record<string, SecondAggregate>> = [];
    for (let sec = from; sec <= cur - 1; sec++) {
      const byService: Record<string, SecondAggregate> = {};
      for (const service of options.services()) {
        const a = secondAggregate(signals, service, sec * 1000, { detail: true });
        if (a === undefined) continue;
        if (sec === cur - 1) a.lag = lag;
        byService[service] = a;
      }
      secs.push(byService);
    }
    lastSec = cur - 1;
    options.send({ from, secs });
  }
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const now = clock.now();
    // 5 ms after the next boundary: the second just ended is complete
    timer = setTimeout(
      () => {
        report(clock.now());
        arm();
      },
      1005 - (now % 1000),
    );
    timer.unref?.();
  };
  arm();
  return { report, close: () => clearTimeout(timer) };
}
