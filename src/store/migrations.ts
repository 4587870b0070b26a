/**
 * Versioned schema migrations. `schema_version` holds one row per applied version; each migration
 * runs in its own transaction with its version row, so a failure leaves the previous version intact.
 * Append new migrations at the end; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';

/** One numbered schema change. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    description: 'events, state and instances',
    sql: `
      -- AUTOINCREMENT: ids are never reused, even after old events are pruned (sqlite_sequence keeps the high-water mark)
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        service TEXT NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX events_service_id ON events (service, id);
      CREATE TABLE state (
        service TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (service, key)
      ) WITHOUT ROWID;
      CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        state TEXT NOT NULL,
        pid INTEGER,
        started_at INTEGER NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX instances_service ON instances (service, started_at);
    `,
  },
  {
    version: 2,
    description: 'metric history in downsampling tiers',
    sql: `
      -- one row per (service, metric): history rows carry the small integer, not two strings
      CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        metric TEXT NOT NULL,
        UNIQUE (service, metric)
      );
      -- sum/count/max per bucket are mergeable: the mean and max of a coarser bucket stay exact
      CREATE TABLE history (
        series INTEGER NOT NULL,
        step INTEGER NOT NULL,
        t INTEGER NOT NULL,
        sum REAL NOT NULL,
        count INTEGER NOT NULL,
        vmax REAL NOT NULL,
        PRIMARY KEY (series, step, t)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'event time index (pruning, since-queries) and the meta table',
    sql: `
      CREATE INDEX events_at ON events (at);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    description: 'API keys of consumers (hashes only)',
    sql: `
      -- the key itself is never stored: only its SHA-256, looked up by the public id it contains
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        consumer TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    description: 'usage ledger of AI services (one row per request)',
    sql: `
      -- token counts and cost per request; never a prompt or a completion
      CREATE TABLE usage (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        service TEXT NOT NULL,
        consumer TEXT NOT NULL,
        key_id TEXT,
        model TEXT NOT NULL,
        backend TEXT NOT NULL,
        input INTEGER NOT NULL,
        cached_input INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        output INTEGER NOT NULL,
        reasoning INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        ttft_ms REAL,
        duration_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        usage_source TEXT NOT NULL
      );
      CREATE INDEX usage_time ON usage (time);
      CREATE INDEX usage_consumer_time ON usage (consumer, time);
    `,
  },
]);

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The highest applied version, 0 for a new database. */
export function schemaVersion(db: Database.Database): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)',
  );
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Applies the migrations above the current version, up to `to`, each in one transaction.
 * Returns the versions applied. Throws (leaving the last good version) when a migration fails, and
 * when the file was written by a newer luascale: an older build must not touch a schema it does not know.
 */
export function migrate(
  db: Database.Database,
  options: { migrations?: readonly Migration[]; to?: number; now?: number } = {},
): number[] {
  const migrations = options.migrations ?? MIGRATIONS;
  const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const to = options.to ?? known;
  const current = schemaVersion(db);
  if (current > known) {
    // a plain Error: openSqlite reports it as LS_ERR_STORE_OPEN naming the file
    throw new Error(
      `schema version ${current} was written by a newer luascale (this build knows up to ${known})`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current || m.version > to) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)').run(
        m.version,
        options.now ?? Date.now(),
        m.description,
      );
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
