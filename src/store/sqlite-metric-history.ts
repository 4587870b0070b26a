/**
 * The metric history part of the SQLite store: the queue of samples waiting for the next flush,
 * the series ids, and the reads (`series`, the policies' history reader, CSV export), which merge
 * the queued samples with the stored buckets. See docs/store.md.
 *
 * The store owns the connection, the flush timer and the ok ⇄ failing write state machine; this
 * part reports to it through `failed` and `report` and writes only inside the store's transaction.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { LuascaleError } from '../core/errors.js';
import type { HistoryReader } from '../policy/policy.js';
import { bucketOf, chooseTier, windowBuckets, type HistoryTier } from './history-tiers.js';
import type { ExportRange, HistorySeries } from './metric-history-store.js';
import { explainOpenError } from './open-sqlite.js';
import type { StoreStatements } from './sqlite-statements.js';

interface PendingSeries {
  service: string;
  metric: string;
  secs: number[];
  values: number[];
}

interface Agg {
  sum: number;
  count: number;
  max: number;
}

const KEY_SEP = '\u0000';

/** Options of `SqliteMetricHistory`; the callbacks tie it to the store's write state machine. */
export interface SqliteMetricHistoryOptions {
  db: Database.Database;
  statements: StoreStatements;
  /** The store file, for error messages. */
  location: string;
  tiers: readonly HistoryTier[];
  clock: Clock;
  maxPendingSamples: number;
  historyReaderMaxSeconds: number;
  /** True once the store is closed. */
  isClosed(): boolean;
  /** Throws when the store is closed. */
  assertOpen(): void;
  /** Enters the failing state (backoff) and reports the error. */
  failed(err: unknown): void;
  /** Reports an error without changing the write state. */
  report(error: LuascaleError): void;
}

/** Queued samples and tiered history reads of one SQLite store. */
export class SqliteMetricHistory {
  readonly #o: SqliteMetricHistoryOptions;
  readonly #txSamples: Database.Transaction<(created: Map<string, number>) => void>;
  readonly #pendingSamples = new Map<string, PendingSeries>();
  #pendingSampleCount = 0;
  #refusedSamples = 0;
  readonly #seriesIds = new Map<string, number>();

  /** Reads the known series ids; throws what SQLite throws (the store turns it into LS_ERR_STORE_OPEN). */
  constructor(options: SqliteMetricHistoryOptions) {
    this.#o = options;
    this.#txSamples = options.db.transaction((created: Map<string, number>) =>
      this.#writeSampleRows(created),
    );
    for (const row of options.db.prepare('SELECT id, service, metric FROM series').iterate() as Iterable<{
      id: number;
      service: string;
      metric: string;
    }>) {
      this.#seriesIds.set(row.service + KEY_SEP + row.metric, row.id);
    }
  }

  /** Samples waiting for the next flush. */
  get pendingCount(): number {
    return this.#pendingSampleCount;
  }

  /** Queues one sample; refuses (and reports once) beyond `maxPendingSamples`. */
  record(service: string, metric: string, t: number, value: number): void {
    if (this.#o.isClosed() || !Number.isFinite(t) || !Number.isFinite(value)) return;
    if (this.#pendingSampleCount >= this.#o.maxPendingSamples) {
      if (this.#refusedSamples++ === 0) {
        this.#o.failed(
          new LuascaleError('LS_ERR_STORE_WRITE', {
            file: this.#o.location,
            reason: `${this.#pendingSampleCount} samples are waiting to be written; refusing new samples until writes succeed`,
          }),
        );
      }
      return;
    }
    const key = service + KEY_SEP + metric;
    let p = this.#pendingSamples.get(key);
    if (p === undefined) {
      p = { service, metric, secs: [], values: [] };
      this.#pendingSamples.set(key, p);
    }
    p.secs.push(Math.floor(t / 1000));
    p.values.push(value);
    this.#pendingSampleCount++;
  }

  /** Writes the queued samples in one transaction; throws and keeps the queue on failure. */
  writeSamples(): void {
    if (this.#pendingSampleCount === 0) return;
    const created = new Map<string, number>();
    this.#txSamples.immediate(created);
    // Series ids become known only once their transaction committed (a rollback un-creates them).
    for (const [k, id] of created) this.#seriesIds.set(k, id);
    this.#pendingSamples.clear();
    this.#pendingSampleCount = 0;
    if (this.#refusedSamples > 0) this.#refusedSamples = 0;
  }

  #writeSampleRows(created: Map<string, number>): void {
    const s = this.#o.statements;
    const tiers = this.#o.tiers;
    for (const [key, p] of this.#pendingSamples) {
      let id = this.#seriesIds.get(key);
      if (id === undefined) {
        id = Number(s.insertSeries.run(p.service, p.metric).lastInsertRowid);
        created.set(key, id);
      }
      for (let i = 0; i < p.secs.length; i++) {
        const sec = p.secs[i]!;
        const v = p.values[i]!;
        for (const tier of tiers)
          s.upsertHistory.run(id, tier.stepSeconds, bucketOf(sec, tier.stepSeconds), v, v);
      }
    }
  }

  /** Bucket aggregates of one tier in [fromSec, toSec], stored and queued together. */
  #buckets(
    { service, metric }: { service: string; metric: string },
    tier: HistoryTier,
    fromSec: number,
    toSec: number,
  ): Map<number, Agg> {
    const key = service + KEY_SEP + metric;
    const out = new Map<number, Agg>();
    const id = this.#seriesIds.get(key);
    if (id !== undefined) {
      const rows = this.#o.statements.readHistory.all(id, tier.stepSeconds, fromSec, toSec) as Array<{
        t: number;
        sum: number;
        count: number;
        vmax: number;
      }>;
      for (const r of rows) out.set(r.t, { sum: r.sum, count: r.count, max: r.vmax });
    }
    const p = this.#pendingSamples.get(key);
    if (p) {
      for (let i = 0; i < p.secs.length; i++) {
        const b = bucketOf(p.secs[i]!, tier.stepSeconds);
        if (b < fromSec || b > toSec) continue;
        const v = p.values[i]!;
        const a = out.get(b);
        if (a) {
          a.sum += v;
          a.count++;
          a.max = Math.max(a.max, v);
        } else out.set(b, { sum: v, count: 1, max: v });
      }
    }
    return out;
  }

  /** The last `seconds` of one metric at the finest tier that keeps them all. */
  series(service: string, metric: string, seconds: number, now: number): HistorySeries {
    this.#o.assertOpen();
    const tiers = this.#o.tiers;
    // Nothing is kept longer than the coarsest tier: a larger (or infinite) window means "all of it".
    const secs = Math.min(seconds, tiers[tiers.length - 1]!.keepSeconds);
    const tier = chooseTier(tiers, secs);
    const step = tier.stepSeconds;
    const { first, last } = windowBuckets(secs, now, step);
    const empty: HistorySeries = { stepSeconds: step, start: (last + step) * 1000, avg: [], max: [] };
    if (first > last) return empty;
    const aggs = this.#buckets({ service, metric }, tier, first, last);
    let start = Infinity;
    for (const t of aggs.keys()) start = Math.min(start, t);
    if (!Number.isFinite(start)) return empty;
    const avg: number[] = [];
    const max: number[] = [];
    for (let t = start; t <= last; t += step) {
      const a = aggs.get(t);
      avg.push(a ? a.sum / a.count : Number.NaN);
      max.push(a ? a.max : Number.NaN);
    }
    return { stepSeconds: step, start: start * 1000, avg, max };
  }

  /** The policies' view of one service's history; a failed read reports and answers no history. */
  historyReader(service: string): HistoryReader {
    const tiers = this.#o.tiers;
    const fine = tiers[0]!;
    const maxSeconds = this.#o.historyReaderMaxSeconds;
    const location = this.#o.location;
    const series = (metric: string, seconds: number, now: number): number[] => {
      if (this.#o.isClosed()) return [];
      try {
        return read(metric, seconds, now);
      } catch (err) {
        // Policies must not throw (src/policy/policy.ts): no history, reported, and the tick goes on.
        this.#o.report(
          err instanceof LuascaleError
            ? err
            : new LuascaleError(
                'LS_ERR_STORE_READ',
                { file: location, reason: explainOpenError(err, location) },
                { cause: err },
              ),
        );
        return [];
      }
    };
    const read = (metric: string, seconds: number, now: number): number[] => {
      const secs = Math.min(seconds, maxSeconds);
      if (secs <= fine.keepSeconds) return this.series(service, metric, secs, now).avg;
      // Older parts come from coarser tiers; each value is repeated over the fine buckets it covers.
      const step = fine.stepSeconds;
      const { first, last } = windowBuckets(secs, now, step);
      const nowSec = Math.floor(now / 1000);
      const parts: Array<{ from: number; aggs: Map<number, Agg>; tier: HistoryTier }> = [];
      let to = last;
      for (const tier of tiers) {
        // tier i serves the seconds after now - keep(i-1)... down to now - keep(i)
        const from = Math.max(first, bucketOf(nowSec - tier.keepSeconds + 1, tier.stepSeconds));
        if (to >= from)
          parts.push({
            from,
            aggs: this.#buckets({ service, metric }, tier, bucketOf(from, tier.stepSeconds), to),
            tier,
          });
        to = Math.min(to, from - 1);
        if (to < first) break;
      }
      const out: number[] = [];
      let seen = false;
      for (let t = first; t <= last; t += step) {
        const part = parts.find((p) => t >= p.from);
        const a = part?.aggs.get(bucketOf(t, part.tier.stepSeconds));
        if (!a && !seen) continue;
        seen = true;
        out.push(a ? a.sum / a.count : Number.NaN);
      }
      return out;
    };
    return { stepSeconds: fine.stepSeconds, series };
  }

  /** One metric as CSV (`t,<metric>`, t in seconds from `range.from`), at the tier that still holds `from`. */
  exportCsv(service: string, metric: string, range: ExportRange): string {
    this.#o.assertOpen();
    const header = `t,${metric}\n`;
    if (!Number.isFinite(range.from) || !Number.isFinite(range.to) || range.to <= range.from) return header;
    const fromSec = Math.floor(range.from / 1000);
    const toSec = Math.ceil(range.to / 1000) - 1;
    const age = Math.floor(this.#o.clock.wallNow() / 1000) - fromSec;
    const tier = chooseTier(this.#o.tiers, age);
    // The step is a whole multiple of the tier's, so each output bucket is a union of stored ones.
    const want =
      range.step !== undefined && Number.isFinite(range.step) && range.step > 0
        ? range.step
        : tier.stepSeconds;
    const step = Math.max(1, Math.ceil(want / tier.stepSeconds)) * tier.stepSeconds;
    const aggs = this.#buckets({ service, metric }, tier, bucketOf(fromSec, tier.stepSeconds), toSec);
    const rows = new Map<number, Agg>();
    for (const [t, a] of aggs) {
      if (t + tier.stepSeconds - 1 < fromSec) continue;
      const rel = Math.floor((Math.max(t, fromSec) - fromSec) / step) * step;
      const r = rows.get(rel);
      if (r) {
        r.sum += a.sum;
        r.count += a.count;
        r.max = Math.max(r.max, a.max);
      } else rows.set(rel, { ...a });
    }
    const lines = [...rows.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([t, a]) => `${t},${round(a.sum / a.count)}`);
    return header + (lines.length ? lines.join('\n') + '\n' : '');
  }

  /** Deletes the buckets each tier no longer keeps; runs inside the caller's transaction. */
  pruneRows(nowSec: number): void {
    const s = this.#o.statements;
    // Per-series deletes walk the primary key (series, step, t); a DELETE by step alone would scan it all.
    for (const id of this.#seriesIds.values()) {
      for (const tier of this.#o.tiers) s.pruneHistory.run(id, tier.stepSeconds, nowSec - tier.keepSeconds);
    }
  }
}

/** Six significant decimals are plenty for a rate and keep the CSV readable. */
function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
