/**
 * The usage ledger in the SQLite store (table `usage`, migration 5). A row is written at once,
 * not queued: the front door appends it when a request ends, at most a few thousand a second,
 * and an INSERT in WAL mode costs microseconds. Summaries are one GROUP BY.
 */
import type Database from 'better-sqlite3';
import type { UsageFilter, UsageGroupKey, UsageLedger, UsageRow, UsageSummaryRow } from './usage-ledger.js';

/** The SQLite ledger answers synchronously. */
export interface SqliteUsageLedger extends UsageLedger {
  append(row: UsageRow): void;
  query(filter: UsageFilter): UsageRow[];
  summary(filter: UsageFilter, groupBy: readonly UsageGroupKey[]): UsageSummaryRow[];
}

/** What the ledger needs from the store: the connection and its error wrappers. */
export interface SqliteUsageLedgerOptions {
  db: Database.Database;
  /** Runs a read, turning a SQLite failure into LS_ERR_STORE_READ. */
  read<T>(fn: () => T): T;
  /** Runs a write, turning a SQLite failure into LS_ERR_STORE_WRITE. */
  write<T>(fn: () => T): T;
}

const COLUMNS =
  'time, request_id, service, consumer, key_id, model, backend, input, cached_input, cache_write, output, reasoning, cost_usd, ttft_ms, duration_ms, status, outcome, usage_source';

const GROUP_SQL: Record<UsageGroupKey, string> = {
  consumer: 'consumer',
  model: 'model',
  service: 'service',
  backend: 'backend',
  keyId: "coalesce(key_id, '')",
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
};

interface Row {
  time: number;
  request_id: string;
  service: string;
  consumer: string;
  key_id: string | null;
  model: string;
  backend: string;
  input: number;
  cached_input: number;
  cache_write: number;
  output: number;
  reasoning: number;
  cost_usd: number;
  ttft_ms: number | null;
  duration_ms: number;
  status: number;
  outcome: UsageRow['outcome'];
  usage_source: UsageRow['usageSource'];
}

function where(filter: UsageFilter): { sql: string; params: Array<string | number> } {
  const parts: string[] = [];
  const params: Array<string | number> = [];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(`${col} = ?`);
    params.push(v);
  };
  eq('consumer', filter.consumer);
  eq('model', filter.model);
  eq('service', filter.service);
  if (filter.since !== undefined) {
    parts.push('time >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    parts.push('time < ?');
    params.push(filter.until);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

const rowOf = (r: Row): UsageRow => ({
  time: r.time,
  requestId: r.request_id,
  service: r.service,
  consumer: r.consumer,
  keyId: r.key_id,
  model: r.model,
  backend: r.backend,
  input: r.input,
  cachedInput: r.cached_input,
  cacheWrite: r.cache_write,
  output: r.output,
  reasoning: r.reasoning,
  costUsd: r.cost_usd,
  ttftMs: r.ttft_ms,
  durationMs: r.duration_ms,
  status: r.status,
  outcome: r.outcome,
  usageSource: r.usage_source,
});

/** The ledger over the store's open database. */
export function sqliteUsageLedger(options: SqliteUsageLedgerOptions): SqliteUsageLedger {
  const { db, read, write } = options;
  let insert: Database.Statement | undefined;
  return {
    append(r) {
      write(() => {
        insert ??= db.prepare(
          `INSERT INTO usage (${COLUMNS}) VALUES (${COLUMNS.split(',')
            .map(() => '?')
            .join(', ')})`,
        );
        insert.run(
          r.time,
          r.requestId,
          r.service,
          r.consumer,
          r.keyId,
          r.model,
          r.backend,
          r.input,
          r.cachedInput,
          r.cacheWrite,
          r.output,
          r.reasoning,
          r.costUsd,
          r.ttftMs,
          r.durationMs,
          r.status,
          r.outcome,
          r.usageSource,
        );
      });
    },
    query(filter) {
      const w = where(filter);
      return read(() => {
        if (filter.limit === undefined)
          return (
            db.prepare(`SELECT ${COLUMNS} FROM usage ${w.sql} ORDER BY time, id`).all(...w.params) as Row[]
          ).map(rowOf);
        const newest = db
          .prepare(`SELECT ${COLUMNS} FROM usage ${w.sql} ORDER BY time DESC, id DESC LIMIT ?`)
          .all(...w.params, filter.limit) as Row[];
        return newest.reverse().map(rowOf);
      });
    },
    summary(filter, groupBy) {
      const w = where(filter);
      const cols = groupBy.map((k, i) => `${GROUP_SQL[k]} AS g${i}`);
      const sql =
        `SELECT ${[...cols, 'count(*) AS requests', 'sum(input) AS input', 'sum(cached_input) AS cachedInput', 'sum(cache_write) AS cacheWrite', 'sum(output) AS output', 'sum(reasoning) AS reasoning', 'sum(cost_usd) AS costUsd', "sum(usage_source = 'estimated') AS estimated"].join(', ')} FROM usage ${w.sql}` +
        (groupBy.length
          ? ` GROUP BY ${groupBy.map((_, i) => `g${i}`).join(', ')} ORDER BY ${groupBy.map((_, i) => `g${i}`).join(', ')}`
          : '');
      return read(() => {
        const rows = db.prepare(sql).all(...w.params) as Array<Record<string, number | string | null>>;
        return rows
          .filter((r) => Number(r.requests) > 0)
          .map((r) => {
            const group: Partial<Record<UsageGroupKey, string>> = {};
            groupBy.forEach((k, i) => (group[k] = String(r[`g${i}`] ?? '')));
            return {
              group,
              requests: Number(r.requests),
              input: Number(r.input),
              cachedInput: Number(r.cachedInput),
              cacheWrite: Number(r.cacheWrite),
              output: Number(r.output),
              reasoning: Number(r.reasoning),
              costUsd: Number(r.costUsd),
              estimated: Number(r.estimated),
            };
          });
      });
    },
  };
}
