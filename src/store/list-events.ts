/** The event query of the SQLite store: stored rows and the not yet written queue, merged. */
import type Database from 'better-sqlite3';
import type { EventQuery, EventType, StoredEvent } from './event-store.js';

/** An event appended but not written yet (its data already serialised). */
export interface PendingEvent {
  id: number;
  service: string;
  type: EventType;
  at: number;
  json: string;
}

/** Prepared event queries by SQL text (one per filter shape). */
export type StatementCache = Map<string, Database.Statement>;

/** What `listEvents` reads besides the database. */
export interface ListEventsOptions {
  query: EventQuery;
  /** The queued events, oldest first. */
  pending: readonly PendingEvent[];
}

/** Lists events matching `query`, stored and queued, in id order, at most `limit` (default 100, max 10 000). */
export function listEvents(
  db: Database.Database,
  cache: StatementCache,
  options: ListEventsOptions,
): StoredEvent[] {
  const { query: q, pending } = options;
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
  let stmt = cache.get(sql);
  if (stmt === undefined) {
    // at most 2 orders × 2^5 filter combinations × type-list lengths: a small, bounded cache
    if (cache.size > 256) cache.clear();
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
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
  const queued = pending
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
