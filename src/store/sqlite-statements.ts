/** The store's fixed SQL statements, prepared once per connection. */
import type Database from 'better-sqlite3';

const SQL = {
  insertEvent: 'INSERT INTO events (id, service, type, at, data) VALUES (?, ?, ?, ?, ?)',
  upsertState:
    'INSERT INTO state (service, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (service, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  deleteState: 'DELETE FROM state WHERE service = ? AND key = ?',
  getState: 'SELECT value FROM state WHERE service = ? AND key = ?',
  upsertInstance:
    'INSERT INTO instances (id, service, state, pid, started_at, record) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state, pid = excluded.pid, started_at = excluded.started_at, record = excluded.record',
  deleteInstance: 'DELETE FROM instances WHERE id = ?',
  listInstances: 'SELECT id, record FROM instances ORDER BY started_at, id',
  listServiceInstances: 'SELECT id, record FROM instances WHERE service = ? ORDER BY started_at, id',
  insertSeries: 'INSERT INTO series (service, metric) VALUES (?, ?)',
  upsertHistory:
    'INSERT INTO history (series, step, t, sum, count, vmax) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (series, step, t) DO UPDATE SET sum = sum + excluded.sum, count = count + 1, vmax = max(vmax, excluded.vmax)',
  readHistory:
    'SELECT t, sum, count, vmax FROM history WHERE series = ? AND step = ? AND t BETWEEN ? AND ? ORDER BY t',
  pruneHistory: 'DELETE FROM history WHERE series = ? AND step = ? AND t < ?',
  pruneEvents: 'DELETE FROM events WHERE at < ?',
  insertKey: 'INSERT INTO api_keys (id, consumer, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)',
  getKey: 'SELECT id, consumer, hash, created_at, revoked_at FROM api_keys WHERE id = ?',
  listKeys: 'SELECT id, consumer, hash, created_at, revoked_at FROM api_keys ORDER BY created_at, id',
  revokeKey: 'UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?',
} as const;

/** The prepared statements of one store connection, by name. */
export type StoreStatements = { readonly [K in keyof typeof SQL]: Database.Statement };

/** Prepares every fixed statement the store runs (the event query's are built per filter shape). */
export function prepareStatements(db: Database.Database): StoreStatements {
  const out: Partial<Record<keyof typeof SQL, Database.Statement>> = {};
  for (const name of Object.keys(SQL) as Array<keyof typeof SQL>) out[name] = db.prepare(SQL[name]);
  return out as StoreStatements;
}
