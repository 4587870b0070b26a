/**
 * The SQLite store's parts answer synchronously (better-sqlite3), so callers on the hot path (the
 * gateway's key check, the CLI) need no promise; the `Store` interfaces allow either.
 */
import type { EventInput, EventQuery, EventStore, StoredEvent } from './event-store.js';
import type { StoredInstance, InstanceStore } from './instance-store.js';
import type { KeyStore, StoredKey } from './key-store.js';
import type { ExportRange, HistorySeries, MetricHistoryStore } from './metric-history-store.js';
import type { StateStore } from './state-store.js';

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

/** The SQLite KeyStore answers synchronously (so the gateway checks a key without a promise). */
export interface SqliteKeyStore extends KeyStore {
  insert(key: StoredKey): void;
  get(id: string): StoredKey | undefined;
  list(): StoredKey[];
  revoke(id: string, at: number): boolean;
}

/** The SQLite InstanceStore answers synchronously. */
export interface SqliteInstanceStore extends InstanceStore {
  upsert(record: StoredInstance): void;
  list(service?: string): StoredInstance[];
  remove(id: string): void;
}
