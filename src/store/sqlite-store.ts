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
 *
 * Parts: the sample queue and history reads live in `sqlite-metric-history.ts`, the event query in
 * `list-events.ts`, the fixed SQL in `sqlite-statements.ts`, error wording in `store-errors.ts`, the
 * options in `open-store-options.ts`, the synchronous part interfaces in `sqlite-parts.ts`;
 * this file keeps the connection, the write state machine, events, state and instances.
 */
import type Database from 'better-sqlite3';
import { systemClock, type Clock } from '../core/clock.js';
import { LuascaleError } from '../core/errors.js';
import type { EventInput, EventQuery, StoredEvent } from './event-store.js';
import {
  DEFAULT_EVENTS_KEEP_SECONDS,
  DEFAULT_TIERS,
  validateTiers,
  type HistoryTier,
} from './history-tiers.js';
import type { StoredInstance } from './instance-store.js';
import type { StoredKey } from './key-store.js';
import { sqliteUsageLedger, type SqliteUsageLedger } from './sqlite-usage-ledger.js';
import { explainOpenError, openSqlite } from './open-sqlite.js';
import { listEvents, type PendingEvent, type StatementCache } from './list-events.js';
import { prepareStatements, type StoreStatements } from './sqlite-statements.js';
import { SqliteMetricHistory } from './sqlite-metric-history.js';
import type { PendingWrites, Store } from './store.js';
import type {
  SqliteEventStore,
  SqliteInstanceStore,
  SqliteKeyStore,
  SqliteMetricHistoryStore,
  SqliteStateStore,
} from './sqlite-parts.js';

import { defaultWriteErrorReporter, reasonOf } from './store-errors.js';
import type { OpenStoreOptions } from './open-store-options.js';

/** Opens the store file; throws LS_ERR_STORE_OPEN naming the file and the reason. */
export function openStore(options: OpenStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

type InstanceOp = { op: 'upsert'; record: StoredInstance; json: string } | { op: 'remove'; id: string };

const MAX_BACKOFF_MS = 5000;
const KEY_SEP = '\u0000';

/** The SQLite implementation of every store part. */
export class SqliteStore implements Store {
  readonly location: string;
  readonly events: SqliteEventStore;
  readonly history: SqliteMetricHistoryStore;
  readonly state: SqliteStateStore;
  readonly instances: SqliteInstanceStore;
  readonly keys: SqliteKeyStore;
  readonly usage: SqliteUsageLedger;
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
  readonly #stmts: StoreStatements;
  readonly #txSmall: Database.Transaction<(now: number) => void>;
  readonly #statements: StatementCache = new Map();
  readonly #history: SqliteMetricHistory;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  #nextEventId: number;
  readonly #pendingEvents: PendingEvent[] = [];
  readonly #pendingState = new Map<string, { service: string; key: string; json: string | null }>();
  readonly #pendingInstances: InstanceOp[] = [];

  #failing = false;
  #backoffMs = 0;
  #retryAt = 0;
  #lastPruneAt: number;

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
      this.#stmts = prepareStatements(this.#db);
      this.#txSmall = this.#db.transaction((now: number) => this.#writeSmallRows(now));
      const seq = this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as
        { seq: number } | undefined;
      const max = this.#db.prepare('SELECT max(id) AS id FROM events').get() as { id: number | null };
      this.#nextEventId = Math.max(seq?.seq ?? 0, max.id ?? 0) + 1;
      this.#dropUnconfiguredTiers();
      this.#history = new SqliteMetricHistory({
        db: this.#db,
        statements: this.#stmts,
        location: this.location,
        tiers: this.tiers,
        clock: this.#clock,
        maxPendingSamples: this.#opts.maxPendingSamples,
        historyReaderMaxSeconds: this.#opts.historyReaderMaxSeconds,
        isClosed: () => this.#closed,
        assertOpen: () => this.#assertOpen(),
        failed: (err) => this.#failed(err),
        report: (error) => this.#report(error),
      });
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
    const history = this.#history;
    this.history = {
      record: (s, m, t, v) => history.record(s, m, t, v),
      series: (s, m, secs, now) => this.#read(() => history.series(s, m, secs, now)),
      historyReader: (s) => history.historyReader(s),
      exportCsv: (s, m, r) => this.#read(() => history.exportCsv(s, m ?? 'rps', r)),
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
    // Keys are written at once, not queued: a key printed to its owner must already be stored.
    const s = this.#stmts;
    this.keys = {
      insert: (k) => this.#keyWrite(() => s.insertKey.run(k.id, k.consumer, k.hash, k.createdAt)),
      get: (id) => this.#read(() => keyOf(this.#open(s.getKey).get(id) as KeyRow | undefined)),
      list: () => this.#read(() => (this.#open(s.listKeys).all() as KeyRow[]).map((r) => keyOf(r)!)),
      revoke: (id, at) => this.#keyWrite(() => s.revokeKey.run(at, id).changes > 0),
    };
    const db = this.#db;
    this.usage = sqliteUsageLedger({ db, read: (fn) => this.#read(fn), write: (fn) => this.#keyWrite(fn) });

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
      samples: this.#history.pendingCount,
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
      this.#history.writeSamples();
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

  #listEvents(query: EventQuery): StoredEvent[] {
    this.#assertOpen();
    return listEvents(this.#db, this.#statements, { query, pending: this.#pendingEvents });
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

  #prune(now: number): void {
    this.#assertOpen();
    const nowSec = Math.floor(now / 1000);
    const s = this.#stmts;
    this.#db
      .transaction(() => {
        this.#history.pruneRows(nowSec);
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

  /** A statement, once the store is known to be open. */
  #open(statement: Database.Statement): Database.Statement {
    this.#assertOpen();
    return statement;
  }

  /** A key write, now; a failure is LS_ERR_STORE_WRITE naming the file (nothing is queued). */
  #keyWrite<T>(fn: () => T): T {
    this.#assertOpen();
    try {
      return fn();
    } catch (err) {
      throw new LuascaleError(
        'LS_ERR_STORE_WRITE',
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

interface KeyRow {
  id: string;
  consumer: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

function keyOf(r: KeyRow | undefined): StoredKey | undefined {
  if (r === undefined) return undefined;
  return { id: r.id, consumer: r.consumer, hash: r.hash, createdAt: r.created_at, revokedAt: r.revoked_at };
}
