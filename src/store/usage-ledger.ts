/**
 * The usage ledger (issue 19): one row per request to an AI service, with the tokens the backend
 * reported (or, for a cut stream, the tokens delivered as counted by the tokenizer, marked
 * `estimated`), its cost, time to first token and outcome. The SQLite store keeps it in the
 * `usage` table, cluster mode in one Redis sorted set. Summaries group rows by consumer, model,
 * service, backend, key or UTC day. Prompts and completions are never part of a row.
 */
import type { Awaitable } from './store.js';

/** Where a row's token counts come from. */
export type UsageSource = 'reported' | 'estimated';

/** How the request ended, as the ledger records it. */
export type UsageOutcome = 'completed' | 'cut' | 'client_closed' | 'error';

/**
 * One request. The token fields have the shape of the normalised `Usage` of src/llm/formats
 * (`input` counts every prompt token, cached and cache-written ones included; `reasoning` is part
 * of `output`), so a row is `{ ...usage, ...the rest }`.
 */
export interface UsageRow {
  /** Epoch ms when the request arrived. */
  time: number;
  requestId: string;
  service: string;
  /** The consumer of the API key; '' for a route without keys. */
  consumer: string;
  keyId: string | null;
  /** The model the client asked for. */
  model: string;
  /** The backend that answered (`instances`, `openai`, `anthropic`, or a label); '' when none did. */
  backend: string;
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  costUsd: number;
  /** Time to the first token, ms; null when none came. */
  ttftMs: number | null;
  durationMs: number;
  /** HTTP status sent to the client. */
  status: number;
  outcome: UsageOutcome;
  usageSource: UsageSource;
}

/** Which rows: every field is optional; `since`/`until` are epoch ms (`until` exclusive). */
export interface UsageFilter {
  consumer?: string;
  model?: string;
  service?: string;
  since?: number;
  until?: number;
  /** At most this many rows (query only; the newest are kept). */
  limit?: number;
}

/** What a summary groups by; `day` is the row's UTC date (YYYY-MM-DD). */
export type UsageGroupKey = 'consumer' | 'model' | 'service' | 'backend' | 'keyId' | 'day';

/** Every group key, in the order tables show them. */
export const USAGE_GROUP_KEYS: readonly UsageGroupKey[] = Object.freeze([
  'day',
  'service',
  'consumer',
  'keyId',
  'model',
  'backend',
]);

/** Totals of one group. */
export interface UsageSummaryRow {
  /** The group's values, one per key grouped by (keyId null shows as ''). */
  group: Partial<Record<UsageGroupKey, string>>;
  requests: number;
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  costUsd: number;
  /** Rows whose counts are estimates (cut streams, client disconnects). */
  estimated: number;
}

/** The ledger: append one row per request; query and summarise. */
export interface UsageLedger {
  /** Durable within the store's flush interval (SQLite: at once; Redis: one round trip). */
  append(row: UsageRow): Awaitable<void>;
  /** Matching rows, oldest first (the newest `limit` when a limit is given). */
  query(filter: UsageFilter): Awaitable<UsageRow[]>;
  /** Totals per group of matching rows, ordered by the group values. */
  summary(filter: UsageFilter, groupBy: readonly UsageGroupKey[]): Awaitable<UsageSummaryRow[]>;
}

/** The UTC date of epoch ms, YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whether `row` passes `filter` (ignoring `limit`). */
export function matchesUsageFilter(row: UsageRow, filter: UsageFilter): boolean {
  return (
    (filter.consumer === undefined || row.consumer === filter.consumer) &&
    (filter.model === undefined || row.model === filter.model) &&
    (filter.service === undefined || row.service === filter.service) &&
    (filter.since === undefined || row.time >= filter.since) &&
    (filter.until === undefined || row.time < filter.until)
  );
}

/** Totals of `rows` per group (the Redis ledger's summary; SQLite does the same in SQL). */
export function summarizeUsage(
  rows: Iterable<UsageRow>,
  groupBy: readonly UsageGroupKey[],
): UsageSummaryRow[] {
  const groups = new Map<string, { values: string[]; row: UsageSummaryRow }>();
  for (const r of rows) {
    const group: Partial<Record<UsageGroupKey, string>> = {};
    for (const k of groupBy) group[k] = k === 'day' ? utcDay(r.time) : String(r[k] ?? '');
    const values = groupBy.map((k) => group[k]!);
    const id = JSON.stringify(values);
    let entry = groups.get(id);
    if (entry === undefined) {
      const row = {
        group,
        requests: 0,
        input: 0,
        cachedInput: 0,
        cacheWrite: 0,
        output: 0,
        reasoning: 0,
        costUsd: 0,
        estimated: 0,
      };
      entry = { values, row };
      groups.set(id, entry);
    }
    const g = entry.row;
    g.requests++;
    g.input += r.input;
    g.cachedInput += r.cachedInput;
    g.cacheWrite += r.cacheWrite;
    g.output += r.output;
    g.reasoning += r.reasoning;
    g.costUsd += r.costUsd;
    if (r.usageSource === 'estimated') g.estimated++;
  }
  return [...groups.values()].sort((a, b) => compareValues(a.values, b.values)).map((e) => e.row);
}

/** Element-wise string order, as SQL's ORDER BY over the group columns. */
function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}
