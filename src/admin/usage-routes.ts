/**
 * The usage ledger of AI services (issue 19): `GET /v1/usage` sums it per group (by consumer and
 * model unless `by` says otherwise), or with `view=rows` lists the rows themselves; `format=csv`
 * answers either as CSV (RFC 4180: a header line, CRLF line ends, fields quoted when needed).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { LuascaleError } from '../core/errors.js';
import { failures } from './admin-errors.js';
import { USAGE_BY } from './usage-by.js';

/** One request in the ledger, as the admin API shows it (src/store/usage-ledger.ts's UsageRow fits). */
export interface UsageRowView {
  time: number;
  requestId: string;
  service: string;
  consumer: string;
  keyId: string | null;
  model: string;
  backend: string;
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  costUsd: number;
  ttftMs: number | null;
  durationMs: number;
  status: number;
  outcome: string;
  usageSource: string;
}

/** Totals of one group (UsageSummaryRow fits). */
export interface UsageGroupView {
  group: Partial<Record<string, string>>;
  requests: number;
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  costUsd: number;
  estimated: number;
}

/** Which rows (UsageFilter fits). */
export interface UsageQuery {
  consumer?: string;
  model?: string;
  service?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** The group keys, as the ledger knows them (in usage-by.ts, which `luascale usage --help` reads). */
export { USAGE_BY };
type By = (typeof USAGE_BY)[number];

/** What the usage route needs (the app wires the store's ledger). */
export interface AdminUsage {
  query(filter: UsageQuery): UsageRowView[] | Promise<UsageRowView[]>;
  summary(filter: UsageQuery, groupBy: readonly By[]): UsageGroupView[] | Promise<UsageGroupView[]>;
}

const ROW_FIELDS = [
  'time',
  'requestId',
  'service',
  'consumer',
  'keyId',
  'model',
  'backend',
  'input',
  'cachedInput',
  'cacheWrite',
  'output',
  'reasoning',
  'costUsd',
  'ttftMs',
  'durationMs',
  'status',
  'outcome',
  'usageSource',
] as const;
const TOTALS = [
  'requests',
  'input',
  'cachedInput',
  'cacheWrite',
  'output',
  'reasoning',
  'costUsd',
  'estimated',
] as const;

const n = Type.Number();
const UsageRowSchema = Type.Object(
  {
    time: Type.Number({ description: 'Epoch ms the request arrived' }),
    requestId: Type.String(),
    service: Type.String(),
    consumer: Type.String({ description: "The API key's consumer; '' on a route without keys" }),
    keyId: Type.Union([Type.String(), Type.Null()]),
    model: Type.String(),
    backend: Type.String(),
    input: Type.Integer({ description: 'Every prompt token, cached and cache-written ones included' }),
    cachedInput: Type.Integer(),
    cacheWrite: Type.Integer(),
    output: Type.Integer({ description: 'Output tokens, reasoning included' }),
    reasoning: Type.Integer(),
    costUsd: n,
    ttftMs: Type.Union([n, Type.Null()]),
    durationMs: n,
    status: Type.Integer(),
    outcome: Type.String({ description: 'completed, cut, client_closed or error' }),
    usageSource: Type.String({
      description: 'reported (by the backend) or estimated (a cut stream: tokens delivered)',
    }),
  },
  { additionalProperties: false },
);
const UsageGroupSchema = Type.Object(
  {
    group: Type.Record(Type.String(), Type.String(), { description: 'The value of each key grouped by' }),
    requests: Type.Integer(),
    input: Type.Integer(),
    cachedInput: Type.Integer(),
    cacheWrite: Type.Integer(),
    output: Type.Integer(),
    reasoning: Type.Integer(),
    costUsd: n,
    estimated: Type.Integer({ description: 'Rows whose counts are estimates' }),
  },
  { additionalProperties: false },
);

/**
 * One CSV field (RFC 4180 §2: quoted when it holds a comma, quote or line break). A text field
 * starting with `=`, `+`, `-`, `@`, a tab or CR gets a leading `'` (OWASP "CSV Injection"): request
 * ids come from clients, and a spreadsheet would run `=HYPERLINK(…)` as a formula.
 */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

/** Ledger rows as CSV, one line per request (what `format=csv&view=rows` answers). */
export function usageRowsCsv(rows: readonly UsageRowView[]): string {
  return csv(
    ROW_FIELDS,
    rows.map((r) => ROW_FIELDS.map((f) => r[f])),
  );
}

/** Group totals as CSV: the group keys, then the totals. */
export function usageGroupsCsv(by: readonly string[], groups: readonly UsageGroupView[]): string {
  return csv(
    [...by, ...TOTALS],
    groups.map((g) => [...by.map((k) => g.group[k]), ...TOTALS.map((t) => g[t])]),
  );
}

function parseBy(by: string | undefined): By[] {
  if (by === undefined) return ['consumer', 'model'];
  if (by === '') return [];
  const keys = by.split(',').map((k) => k.trim());
  for (const k of keys)
    if (!(USAGE_BY as readonly string[]).includes(k))
      throw new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', {
        reason: `by: "${k}" is not one of ${USAGE_BY.join(', ')}`,
      });
  return keys as By[];
}

/** Registers `GET /v1/usage`; without `usage` (no ledger on this server) it answers 404. */
export function registerUsageRoutes(app: FastifyInstance, usage: AdminUsage | undefined): void {
  app.get(
    '/v1/usage',
    {
      schema: {
        operationId: 'getUsage',
        tags: ['usage'],
        summary: 'The usage ledger of AI services: totals per group, or the rows; JSON or CSV',
        querystring: {
          type: 'object',
          properties: {
            consumer: { type: 'string', maxLength: 63 },
            model: { type: 'string', maxLength: 200 },
            service: { type: 'string', maxLength: 63 },
            since: { type: 'number', minimum: 0, description: 'Only requests at or after this epoch ms' },
            until: { type: 'number', minimum: 0, description: 'Only requests before this epoch ms' },
            by: {
              type: 'string',
              maxLength: 100,
              description: `Group keys, comma-separated, of ${USAGE_BY.join(', ')} (default consumer,model; empty: one total)`,
            },
            view: { type: 'string', enum: ['summary', 'rows'], default: 'summary' },
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: 100000,
              description: 'rows: the newest this many',
            },
            format: { type: 'string', enum: ['json', 'csv'], default: 'json' },
          },
          additionalProperties: false,
        },
        response: {
          200: Type.Object(
            {
              by: Type.Optional(Type.Array(Type.String())),
              groups: Type.Optional(Type.Array(UsageGroupSchema)),
              rows: Type.Optional(Type.Array(UsageRowSchema)),
            },
            { additionalProperties: false, description: 'JSON; with format=csv, text/csv of the same' },
          ),
          ...failures(400, 404),
        },
      },
    },
    async (req, reply) => {
      if (usage === undefined)
        throw new LuascaleError('LS_ERR_ADMIN_NOT_FOUND', { method: 'usage', path: 'on this server' });
      const q = req.query as UsageQuery & { by?: string; view: 'summary' | 'rows'; format: 'json' | 'csv' };
      const filter: UsageQuery = {
        consumer: q.consumer,
        model: q.model,
        service: q.service,
        since: q.since,
        until: q.until,
      };
      const asCsv = q.format === 'csv';
      if (asCsv) reply.header('content-disposition', 'attachment; filename="usage.csv"');
      if (q.view === 'rows') {
        const rows = await usage.query({ ...filter, limit: q.limit });
        if (!asCsv) return { rows };
        return reply.type('text/csv; charset=utf-8').send(usageRowsCsv(rows));
      }
      const by = parseBy(q.by);
      const groups = await usage.summary(filter, by);
      if (!asCsv) return { by, groups };
      return reply.type('text/csv; charset=utf-8').send(usageGroupsCsv(by, groups));
    },
  );
}
