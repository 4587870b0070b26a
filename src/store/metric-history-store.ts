/**
 * Metric history: per-second samples kept in downsampling tiers (default 1 s for 1 h and 1 min
 * for 30 days), pruned by age. It backs `ctx.history()`, `ctx.forecast()` and the predictive policy,
 * and exports request-rate traces for the simulator.
 */
import type { HistoryReader } from '../policy/policy.js';
import type { Awaitable } from './store.js';

/** A regular series from one tier: bucket `i` starts at `start + i * stepSeconds * 1000`. */
export interface HistorySeries {
  /** The tier's resolution. */
  stepSeconds: number;
  /** Epoch ms of the first bucket (meaningless when `avg` is empty). */
  start: number;
  /** Mean of the samples in each bucket; NaN where nothing was recorded. */
  avg: number[];
  /** Largest sample in each bucket; NaN where nothing was recorded. */
  max: number[];
}

/** Range and resolution of a CSV export; `from`/`to` are epoch ms, `step` seconds. */
export interface ExportRange {
  from: number;
  to: number;
  step?: number;
}

/** Samples in, downsampled series out. */
export interface MetricHistoryStore {
  /** Records the sample of `metric` at `t` (epoch ms; per-second). Buffered; never throws for I/O. */
  record(service: string, metric: string, t: number, value: number): void;
  /**
   * The last `seconds` up to the bucket holding `now` (epoch ms), from the finest tier that still
   * keeps that far back. Buckets before the first recorded one are left out (as TimeSeriesRing does).
   */
  series(service: string, metric: string, seconds: number, now: number): Awaitable<HistorySeries>;
  /**
   * A synchronous reader for policies at the finest tier's step. Windows longer than that tier
   * keeps are filled from coarser tiers (each bucket's mean repeated), so `ctx.forecast` sees days.
   */
  historyReader(service: string): HistoryReader;
  /** `t,<metric>` CSV (the simulator's trace format for `rps`): `t` seconds from `from`, bucket means, empty buckets left out. */
  exportCsv(service: string, metric: string | undefined, range: ExportRange): Awaitable<string>;
  /** Deletes samples older than each tier keeps, as of `now` (epoch ms). */
  prune(now: number): Awaitable<void>;
}
