/**
 * The embedded store: one SQLite file (better-sqlite3, synchronous) holding events, metric
 * history, state and instances. See docs/store.md.
 *
 * Write path (a write-behind queue with one state machine: ok ⇄ failing):
 * - Events and instance changes are written at once (one small transaction) so a kill -9 right
 *   after `append` loses nothing; samples and state are queued and written each flush (default every
 *   100 ms, one transaction per kind).
 * - When a write fails (disk full, I/O error, corrupt page) the queue keeps everything, the error
 *   goes to `onError` as LS_ERR_STORE_WRITE, and the next attempt waits an exponential backoff
 *   (100 ms → 5 s); `pending()` shows what waits. Nothing is dropped silently: at `maxPendingEvents`
 *   `append` throws, and samples beyond `maxPendingSamples` are refused with a reported error.
 * - Reads see queued writes: `list`, `get`, `series` and the history reader merge the queue in.
 */
import type Database from 'better-sqlite3';
import { systemClock, type Clock } from '../core/clock.js';
import { LuascaleError } from '../core/errors.js';
import type { HistoryReader } from '../policy/policy.js';
import type { EventInput, EventQuery, EventStore, EventType, StoredEvent } from './event-store.js';
import {
  bucketOf,
  chooseTier,
  DEFAULT_EVENTS_KEEP_SECONDS,
  DEFAULT_TIERS,
  validateTiers,
  windowBuckets,
  type HistoryTier,
  type RetentionOptions,
} from './history-tiers.js';
import type { StoredInstance, InstanceStore } from './instance-store.js';
import type { ExportRange, HistorySeries, MetricHistoryStore } from './metric-history-store.js';
import { explainOpenError, openSqlite } from './open-sqlite.js';
import type { Migration } from './migrations.js';
import type { StateStore } from './state-store.js';
import type { PendingWrites, Store } from './store.js';

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** The SQLite file; created (with its directory) when missing. */
  file: string;
  retention?: RetentionOptions;
  /** `wallNow()` stamps pruning and exports; `now()` paces retries. Default: the system clock. */
  clock?: Clock;
  /** Flush period of the write-behind queue; 0 = no timer (call `flush()` yourself). Default 100. */
  flushIntervalMs?: number;
  /** How often old history and events are pruned. Default 60 000. */
  pruneIntervalMs?: number;
  /** How long to wait for another connection's lock at open. Default 5000. */
  busyTimeoutMs?: number;
  /** Queued events before `append` throws LS_ERR_STORE_WRITE. Default 100 000. */
  maxPendingEvents?: number;
  /** Queued samples before new ones are refused (and reported). Default 1 000 000. */
  maxPendingSamples?: number;
  /** The longest window the history reader serves (1 s values). Default 8 days. */
  historyReaderMaxSeconds?: number;
  /**
   * Every failed write (LS_ERR_STORE_WRITE, with what is still queued) and every failed read of the
   * history reader (LS_ERR_STORE_READ; it then answers with no history). Default: one line on stderr.
   */
  onError?: (error: LuascaleError, pending: PendingWrites) => void;
  /** For tests of the migration machinery. */
  migrations?: readonly Migration[];
}

/** Opens the store file; throws LS_ERR_STORE_OPEN naming the file and the reason. */
export function openStore(options: OpenStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/** The SQLite EventStore answers synchronously. */
export interface SqliteEventStore extends EventStore {
  append(event: EventInput): number;
  list(query: EventQuery): StoredEvent[];
}

/** The SQLite MetricHistoryStore answers synchronously. */
export interface SqliteMetricHistoryStore extends MetricHistoryStore {
  series(service: string, metric: string, seconds: number, now: number): HistorySeries;
  exportCsv(service: string, metric: string | undefined, range: ExportRange): string;
  prune(now: number): void;
}

/** The SQLite StateStore answers synchronously. */
export interface SqliteStateStore extends StateStore {
  get<T = unknown>(service: string, key: string): T | undefined;
  set(service: string, key: string, value: unknown): void;
  delete(service: string, key: string): void;
}

/** The SQLite InstanceStore answers synchronously. */
export interface SqliteInstanceStore extends InstanceStore {
  upsert(record: StoredInstance): void;
  list(service?: string): StoredInstance[];
  remove(id: string): void;
}

interface PendingEvent {
  id: number;
  service: string;
  type: EventType;
  at: number;
  json: string;
}

type InstanceOp = { op: 'upsert'; record: StoredInstance; json: string } | { op: 'remove'; id: string };

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

const MAX_BACKOFF_MS = 5000;
const KEY_SEP = '\u0000';

/** The SQLite implementation of every store part. */
export class SqliteStore implements Store {
  readonly location: string;
  readonly events: SqliteEventStore;
  readonly history: SqliteMetricHistoryStore;
  readonly state: SqliteStateStore;
  readonly instances: SqliteInstanceStore;
  /** The resolved retention tiers, finest first. */
  readonly tiers: readonly HistoryTier[];

  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #opts: Required<
    Pick<
      OpenStoreOptions,
      'maxPendingEvents' | 'maxPendingSamples' | 'historyReaderMaxSeconds' | 'pruneIntervalMs'
    >
  >;
  readonly #onError: (error: LuascaleError, pending: PendingWrites) => void;
  readonly #eventsKeepSeconds: number;
  readonly #stmts: ReturnType<typeof prepare>;
  readonly #txSmall: Database.Transaction<(now: number) => void>;
  readonly #txSamples: Database.Transaction<(created: Map<string, number>) => void>;
  readonly #statements = new Map<string, Database.Statement>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  #nextEventId: number;
  readonly #pendingEvents: PendingEvent[] = [];
  readonly #pendingState = new Map<string, { service: string; key: string; json: string | null }>();
  readonly #pendingInstances: InstanceOp[] = [];
  readonly #pendingSamples = new Map<string, PendingSeries>();
  #pendingSampleCount = 0;
  readonly #seriesIds = new Map<string, number>();

  #failing = false;
  #backoffMs = 0;
  #retryAt = 0;
  #lastPruneAt: number;
  #refusedSamples = 0;

  constructor(options: OpenStoreOptions) {
    this.location = options.file;
    this.#clock = options.clock ?? systemClock;
    this.tiers = validateTiers(options.retention?.tiers ?? DEFAULT_TIERS, options.file);
    this.#eventsKeepSeconds = options.retention?.eventsKeepSeconds ?? DEFAULT_EVENTS_KEEP_SECONDS;
    this.#opts = {
      maxPendingEvents: options.maxPendingEvents ?? 100_000,
      maxPendingSamples: options.maxPendingSamples ?? 1_000_000,
      historyReaderMaxSeconds: options.historyReaderMaxSeconds ?? 8 * 86_400,
      pruneIntervalMs: options.pruneIntervalMs ?? 60_000,
    };
    this.#onError = options.onError ?? defaultWriteErrorReporter;
    this.#db = openSqlite(options.file, {
      busyTimeoutMs: options.busyTimeoutMs,
      now: this.#clock.wallNow(),
      migrations: options.migrations,
    });
    try {
      this.#stmts = prepare(this.#db);
      this.#txSmall = this.#db.transaction((now: number) => this.#writeSmallRows(now));
      this.#txSamples = this.#db.transaction((created: Map<string, number>) =>
        this.#writeSampleRows(created),
      );
      const seq = this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as
        { seq: number } | undefined;
      const max = this.#db.prepare('SELECT max(id) AS id FROM events').get() as { id: number | null };
      this.#nextEventId = Math.max(seq?.seq ?? 0, max.id ?? 0) + 1;
      this.#dropUnconfiguredTiers();
      for (const row of this.#db.prepare('SELECT id, service, metric FROM series').iterate() as Iterable<{
        id: number;
        service: string;
        metric: string;
      }>) {
        this.#seriesIds.set(row.service + KEY_SEP + row.metric, row.id);
      }
    } catch (err) {
      // Reading the tables can hit a corrupt page the header check did not see.
      this.#db.close();
      throw new LuascaleError(
        'LS_ERR_STORE_OPEN',
        { file: options.file, reason: explainOpenError(err, options.file) },
        { cause: err },
      );
    }
    this.#lastPruneAt = this.#clock.now();

    this.events = { append: (e) => this.#append(e), list: (q) => this.#read(() => this.#listEvents(q)) };
    this.history = {
      record: (s, m, t, v) => this.#record(s, m, t, v),
      series: (s, m, secs, now) => this.#read(() => this.#series(s, m, secs, now)),
      historyReader: (s) => this.#historyReader(s),
      exportCsv: (s, m, r) => this.#read(() => this.#exportCsv(s, m ?? 'rps', r)),
      prune: (now) => this.#prune(now),
    };
    this.state = {
      get: <T>(s: string, k: string) => this.#read(() => this.#getState<T>(s, k)),
      set: (s, k, v) => this.#setState(s, k, JSON.stringify(v) ?? 'null'),
      delete: (s, k) => this.#setState(s, k, null),
    };
    this.instances = {
      upsert: (r) => this.#instanceOp({ op: 'upsert', record: r, json: JSON.stringify(r) }),
      list: (s) => this.#read(() => this.#listInstances(s)),
      remove: (id) => this.#instanceOp({ op: 'remove', id }),
    };

    const every = options.flushIntervalMs ?? 100;
    if (every > 0) {
      this.#timer = setInterval(() => this.#tick(), every);
      this.#timer.unref?.(); // mock timers in tests may lack unref
    }
  }

  /** Queued writes by kind. */
  pending(): PendingWrites {
    return {
      events: this.#pendingEvents.length,
      samples: this.#pendingSampleCount,
      state: this.#pendingState.size,
      instances: this.#pendingInstances.length,
    };
  }

  /** True while writes are failing (cleared by the next successful flush). */
  get failing(): boolean {
    return this.#failing;
  }

  /** Writes everything queued now, ignoring any backoff; throws LS_ERR_STORE_WRITE and keeps the queue on failure. */
  flush(): void {
    this.#assertOpen();
    let error: unknown;
    try {
      this.#writeSmall();
    } catch (err) {
      error = err;
    }
    try {
      this.#writeSamples();
    } catch (err) {
      error ??= err;
    }
    if (error !== undefined) {
      const e = this.#failed(error);
      throw e;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#backoffMs = 0;
    }
  }

  /** Flushes and closes; throws LS_ERR_STORE_WRITE naming what was not written (the file is closed anyway). */
  close(): void {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    let error: unknown;
    try {
      this.flush();
    } catch (err) {
      error = err;
    }
    const left = this.pending();
    this.#closed = true;
    try {
      this.#db.close();
    } catch {
      // the handle is gone either way
    }
    if (error !== undefined) {
      throw new LuascaleError(
        'LS_ERR_STORE_WRITE',
        {
          file: this.location,
          reason: `closed with ${left.events} event(s), ${left.instances} instance change(s), ${left.state} state value(s) and ${left.samples} sample(s) not written: ${reasonOf(error)}`,
        },
        { cause: error },
      );
    }
  }

  // --- write path -------------------------------------------------------------------------

  #tick(): void {
    if (this.#closed) return;
    this.#tryFlush();
    const now = this.#clock.now();
    if (now - this.#lastPruneAt >= this.#opts.pruneIntervalMs && !this.#failing) {
      this.#lastPruneAt = now;
      try {
        this.#prune(this.#clock.wallNow());
      } catch (err) {
        this.#failed(err);
      }
    }
  }

  /** A flush that respects the backoff and reports instead of throwing. */
  #tryFlush(): void {
    if (this.#closed) return;
    if (this.#failing && this.#clock.now() < this.#retryAt) return;
    try {
      this.flush();
    } catch {
      // reported by #failed
    }
  }

  #failed(err: unknown): LuascaleError {
    const error =
      err instanceof LuascaleError
        ? err
        : new LuascaleError(
            'LS_ERR_STORE_WRITE',
            { file: this.location, reason: explainOpenError(err, this.location) },
            { cause: err },
          );
    this.#failing = true;
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs === 0 ? 100 : this.#backoffMs * 2);
    this.#retryAt = this.#clock.now() + this.#backoffMs;
    this.#report(error);
    return error;
  }

  #report(error: LuascaleError): void {
    try {
      this.#onError(error, this.pending());
    } catch {
      // a throwing reporter must not turn a queued write into a lost one
    }
  }

  #writeSmall(): void {
    const events = this.#pendingEvents;
    const state = this.#pendingState;
    const inst = this.#pendingInstances;
    if (events.length === 0 && state.size === 0 && inst.length === 0) return;
    this.#txSmall.immediate(this.#clock.wallNow());
    events.length = 0;
    state.clear();
    inst.length = 0;
  }

  #writeSmallRows(now: number): void {
    const s = this.#stmts;
    for (const e of this.#pendingEvents) s.insertEvent.run(e.id, e.service, e.type, e.at, e.json);
    for (const v of this.#pendingState.values()) {
      if (v.json === null) s.deleteState.run(v.service, v.key);
      else s.upsertState.run(v.service, v.key, v.json, now);
    }
    for (const op of this.#pendingInstances) {
      if (op.op === 'remove') s.deleteInstance.run(op.id);
      else
        s.upsertInstance.run(
          op.record.id,
          op.record.service,
          op.record.state,
          op.record.pid ?? null,
          op.record.startedAt,
          op.json,
        );
    }
  }

  #writeSampleRows(created: Map<string, number>): void {
    const s = this.#stmts;
    const tiers = this.tiers;
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

  #writeSamples(): void {
    if (this.#pendingSampleCount === 0) return;
    const created = new Map<string, number>();
    this.#txSamples.immediate(created);
    // Series ids become known only once their transaction committed (a rollback un-creates them).
    for (const [k, id] of created) this.#seriesIds.set(k, id);
    this.#pendingSamples.clear();
    this.#pendingSampleCount = 0;
    if (this.#refusedSamples > 0) this.#refusedSamples = 0;
  }

  // --- events -----------------------------------------------------------------------------

  #append(e: EventInput): number {
    this.#assertOpen();
    if (this.#pendingEvents.length >= this.#opts.maxPendingEvents) this.#writeNow();
    if (this.#pendingEvents.length >= this.#opts.maxPendingEvents) {
      throw new LuascaleError('LS_ERR_STORE_WRITE', {
        file: this.location,
        reason: `${this.#pendingEvents.length} events are waiting to be written; refusing more until writes succeed`,
      });
    }
    // Serialise now: a later mutation of `data` by the caller must not change the stored event.
    const json = JSON.stringify(e.data) ?? 'null';
    const id = this.#nextEventId++;
    this.#pendingEvents.push({ id, service: e.service, type: e.type, at: e.at, json });
    this.#writeNow();
    return id;
  }

  /** Writes the small queue at once (not the samples), unless backing off after a failure. */
  #writeNow(): void {
    if (this.#failing && this.#clock.now() < this.#retryAt) return;
    try {
      this.#writeSmall();
    } catch (err) {
      this.#failed(err);
    }
  }

  #listEvents(q: EventQuery): StoredEvent[] {
    this.#assertOpen();
    const limit = Number.isFinite(q.limit) ? Math.min(10_000, Math.max(1, Math.floor(q.limit))) : 100;
    const desc = q.order === 'desc';
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, value: unknown): void => {
      where.push(clause);
      args.push(value);
    };
    if (q.service !== undefined) add('service = ?', q.service);
    if (q.since !== undefined) add('at >= ?', q.since);
    if (q.afterId !== undefined) add('id > ?', q.afterId);
    if (q.beforeId !== undefined) add('id < ?', q.beforeId);
    if (q.types !== undefined) {
      if (q.types.length === 0) return [];
      where.push(`type IN (${q.types.map(() => '?').join(', ')})`);
      args.push(...q.types);
    }
    const sql = `SELECT id, service, type, at, data FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`;
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      // at most 2 orders × 2^5 filter combinations × type-list lengths: a small, bounded cache
      if (this.#statements.size > 256) this.#statements.clear();
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    const rows = stmt.all(...args, limit) as Array<{
      id: number;
      service: string;
      type: EventType;
      at: number;
      data: string;
    }>;
    const stored = rows.map((r) => ({
      id: r.id,
      service: r.service,
      type: r.type,
      at: r.at,
      data: JSON.parse(r.data) as unknown,
    }));
    // Queued events have larger ids than every stored one (one FIFO queue, flushed whole).
    const queued = this.#pendingEvents
      .filter(
        (e) =>
          (q.service === undefined || e.service === q.service) &&
          (q.since === undefined || e.at >= q.since) &&
          (q.afterId === undefined || e.id > q.afterId) &&
          (q.beforeId === undefined || e.id < q.beforeId) &&
          (q.types === undefined || q.types.includes(e.type)),
      )
      .map((e) => ({
        id: e.id,
        service: e.service,
        type: e.type,
        at: e.at,
        data: JSON.parse(e.json) as unknown,
      }));
    const all = desc ? [...queued.reverse(), ...stored] : [...stored, ...queued];
    return all.slice(0, limit);
  }

  // --- state ------------------------------------------------------------------------------

  #getState<T>(service: string, key: string): T | undefined {
    this.#assertOpen();
    const p = this.#pendingState.get(service + KEY_SEP + key);
    if (p) return p.json === null ? undefined : (JSON.parse(p.json) as T);
    const row = this.#stmts.getState.get(service, key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  #setState(service: string, key: string, json: string | null): void {
    this.#assertOpen();
    // Last write wins inside one flush: a per-tick DecisionState costs one row write per flush.
    this.#pendingState.set(service + KEY_SEP + key, { service, key, json });
  }

  // --- instances --------------------------------------------------------------------------

  #instanceOp(op: InstanceOp): void {
    this.#assertOpen();
    this.#pendingInstances.push(op);
    this.#writeNow();
  }

  #listInstances(service?: string): StoredInstance[] {
    this.#assertOpen();
    const rows = (
      service === undefined ? this.#stmts.listInstances.all() : this.#stmts.listServiceInstances.all(service)
    ) as Array<{ id: string; record: string }>;
    const byId = new Map<string, StoredInstance>();
    for (const r of rows) byId.set(r.id, JSON.parse(r.record) as StoredInstance);
    for (const op of this.#pendingInstances) {
      if (op.op === 'remove') byId.delete(op.id);
      else byId.set(op.record.id, JSON.parse(op.json) as StoredInstance);
    }
    return [...byId.values()]
      .filter((r) => service === undefined || r.service === service)
      .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  }

  // --- metric history ---------------------------------------------------------------------

  #record(service: string, metric: string, t: number, value: number): void {
    if (this.#closed || !Number.isFinite(t) || !Number.isFinite(value)) return;
    if (this.#pendingSampleCount >= this.#opts.maxPendingSamples) {
      if (this.#refusedSamples++ === 0) {
        this.#failed(
          new LuascaleError('LS_ERR_STORE_WRITE', {
            file: this.location,
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

  /** Bucket aggregates of one tier in [fromSec, toSec], stored and queued together. */
  #buckets(
    service: string,
    metric: string,
    tier: HistoryTier,
    fromSec: number,
    toSec: number,
  ): Map<number, Agg> {
    const key = service + KEY_SEP + metric;
    const out = new Map<number, Agg>();
    const id = this.#seriesIds.get(key);
    if (id !== undefined) {
      const rows = this.#stmts.readHistory.all(id, tier.stepSeconds, fromSec, toSec) as Array<{
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

  #series(service: string, metric: string, seconds: number, now: number): HistorySeries {
    this.#assertOpen();
    // Nothing is kept longer than the coarsest tier: a larger (or infinite) window means "all of it".
    const secs = Math.min(seconds, this.tiers[this.tiers.length - 1]!.keepSeconds);
    const tier = chooseTier(this.tiers, secs);
    const step = tier.stepSeconds;
    const { first, last } = windowBuckets(secs, now, step);
    const empty: HistorySeries = { stepSeconds: step, start: (last + step) * 1000, avg: [], max: [] };
    if (first > last) return empty;
    const aggs = this.#buckets(service, metric, tier, first, last);
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

  #historyReader(service: string): HistoryReader {
    const tiers = this.tiers;
    const fine = tiers[0]!;
    const maxSeconds = this.#opts.historyReaderMaxSeconds;
    const series = (metric: string, seconds: number, now: number): number[] => {
      if (this.#closed) return [];
      try {
        return read(metric, seconds, now);
      } catch (err) {
        // Policies must not throw (src/policy/policy.ts): no history, reported, and the tick goes on.
        this.#report(
          err instanceof LuascaleError
            ? err
            : new LuascaleError(
                'LS_ERR_STORE_READ',
                { file: this.location, reason: explainOpenError(err, this.location) },
                { cause: err },
              ),
        );
        return [];
      }
    };
    const read = (metric: string, seconds: number, now: number): number[] => {
      const secs = Math.min(seconds, maxSeconds);
      if (secs <= fine.keepSeconds) return this.#series(service, metric, secs, now).avg;
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
            aggs: this.#buckets(service, metric, tier, bucketOf(from, tier.stepSeconds), to),
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

  #exportCsv(service: string, metric: string, range: ExportRange): string {
    this.#assertOpen();
    const header = `t,${metric}\n`;
    if (!Number.isFinite(range.from) || !Number.isFinite(range.to) || range.to <= range.from) return header;
    const fromSec = Math.floor(range.from / 1000);
    const toSec = Math.ceil(range.to / 1000) - 1;
    const age = Math.floor(this.#clock.wallNow() / 1000) - fromSec;
    const tier = chooseTier(this.tiers, age);
    // The step is a whole multiple of the tier's, so each output bucket is a union of stored ones.
    const want =
      range.step !== undefined && Number.isFinite(range.step) && range.step > 0
        ? range.step
        : tier.stepSeconds;
    const step = Math.max(1, Math.ceil(want / tier.stepSeconds)) * tier.stepSeconds;
    const aggs = this.#buckets(service, metric, tier, bucketOf(fromSec, tier.stepSeconds), toSec);
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

  #prune(now: number): void {
    this.#assertOpen();
    const nowSec = Math.floor(now / 1000);
    const s = this.#stmts;
    this.#db
      .transaction(() => {
        // Per-series deletes walk the primary key (series, step, t); a DELETE by step alone would scan it all.
        for (const id of this.#seriesIds.values()) {
          for (const tier of this.tiers) s.pruneHistory.run(id, tier.stepSeconds, nowSec - tier.keepSeconds);
        }
        s.pruneEvents.run(now - this.#eventsKeepSeconds * 1000);
      })
      .immediate();
  }

  /** When the retention tiers changed since the last open, drops the steps no tier keeps any more. */
  #dropUnconfiguredTiers(): void {
    const steps = JSON.stringify(this.tiers.map((t) => t.stepSeconds));
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'tiers'").get() as
      { value: string } | undefined;
    if (row?.value === steps) return;
    this.#db
      .transaction(() => {
        // A full scan, but only on the open after a retention change.
        this.#db.prepare('DELETE FROM history WHERE step NOT IN (SELECT value FROM json_each(?))').run(steps);
        this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('tiers', ?)").run(steps);
      })
      .immediate();
  }

  /** Runs a read; a SQLite failure (corrupt page, I/O error) becomes one LS_ERR_STORE_READ. */
  #read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof LuascaleError) throw err;
      throw new LuascaleError(
        'LS_ERR_STORE_READ',
        { file: this.location, reason: explainOpenError(err, this.location) },
        { cause: err },
      );
    }
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new LuascaleError('LS_ERR_STORE_WRITE', { file: this.location, reason: 'the store is closed' });
  }
}

function prepare(db: Database.Database) {
  return {
    insertEvent: db.prepare('INSERT INTO events (id, service, type, at, data) VALUES (?, ?, ?, ?, ?)'),
    upsertState: db.prepare(
      'INSERT INTO state (service, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (service, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    ),
    deleteState: db.prepare('DELETE FROM state WHERE service = ? AND key = ?'),
    getState: db.prepare('SELECT value FROM state WHERE service = ? AND key = ?'),
    upsertInstance: db.prepare(
      'INSERT INTO instances (id, service, state, pid, started_at, record) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state, pid = excluded.pid, started_at = excluded.started_at, record = excluded.record',
    ),
    deleteInstance: db.prepare('DELETE FROM instances WHERE id = ?'),
    listInstances: db.prepare('SELECT id, record FROM instances ORDER BY started_at, id'),
    listServiceInstances: db.prepare(
      'SELECT id, record FROM instances WHERE service = ? ORDER BY started_at, id',
    ),
    insertSeries: db.prepare('INSERT INTO series (service, metric) VALUES (?, ?)'),
    upsertHistory: db.prepare(
      'INSERT INTO history (series, step, t, sum, count, vmax) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (series, step, t) DO UPDATE SET sum = sum + excluded.sum, count = count + 1, vmax = max(vmax, excluded.vmax)',
    ),
    readHistory: db.prepare(
      'SELECT t, sum, count, vmax FROM history WHERE series = ? AND step = ? AND t BETWEEN ? AND ? ORDER BY t',
    ),
    pruneHistory: db.prepare('DELETE FROM history WHERE series = ? AND step = ? AND t < ?'),
    pruneEvents: db.prepare('DELETE FROM events WHERE at < ?'),
  };
}

/** The reason clause of a store error (its message minus the `{file}: write failed:` prefix). */
function reasonOf(error: unknown): string {
  if (error instanceof LuascaleError && typeof error.details.reason === 'string') return error.details.reason;
  return error instanceof Error ? error.message : String(error);
}

/** Six significant decimals are plenty for a rate and keep the CSV readable. */
function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function defaultWriteErrorReporter(error: LuascaleError, pending: PendingWrites): void {
  const queued =
    error.code === 'LS_ERR_STORE_WRITE'
      ? ` (queued, retrying: ${pending.events} events, ${pending.instances} instance changes, ${pending.state} state values, ${pending.samples} samples)`
      : '';
  process.stderr.write(`luascale store: ${error.message}${queued}\n`);
}
