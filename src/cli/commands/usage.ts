/**
 * `luascale usage [--consumer C] [--model M] [--service S] [--since D] [--until D] [--by KEYS]
 * [--rows] [--limit N] [--json] [--csv]`: the usage ledger of AI services through the admin API
 * (`GET /v1/usage`). A table of totals per group by default; `--rows` lists requests; `--csv`
 * prints CSV (of the rows with --rows, else of the totals).
 */
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { USAGE_BY } from '../../admin/usage-by.js';
import type { UsageGroupView, UsageRowView } from '../../admin/usage-routes.js';
import { callAdmin } from '../admin/call-admin.js';
import { withConnectionOptions, type ConnOpts } from '../admin/connection-options.js';
import { badArgument } from '../bad-argument.js';
import { table } from '../table.js';

interface UsageOpts extends ConnOpts {
  consumer?: string;
  model?: string;
  service?: string;
  since?: string;
  until?: string;
  by?: string;
  rows?: boolean;
  limit?: string;
  csv?: boolean;
}

const out = (s: string): void => void process.stdout.write(s);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/**
 * Epoch ms of `--since`/`--until`: an ISO date or time (`2026-12-01`, `2026-12-01T10:00:00Z`,
 * UTC when no zone is given) or a duration back from `now` (`24h`, `7d`, `90m`).
 */
export function parseWhen(flag: string, value: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const iso = /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) || value.length === 10 ? value : `${value}Z`;
    const t = Date.parse(iso);
    if (Number.isFinite(t)) return t;
  } else {
    try {
      return now - parseDuration(value);
    } catch {
      // reported below
    }
  }
  throw badArgument(
    flag,
    `expected an ISO date or time (2026-12-01, 2026-12-01T10:00:00Z) or a duration back from now (24h, 7d), got "${value}"`,
  );
}

const usd = (x: number) => (x === 0 ? '0' : x < 0.01 ? x.toPrecision(3) : x.toFixed(4));

/** Registers `usage`. */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('usage')
      .description('The usage ledger of AI services: tokens and cost per consumer and model, or per request')
      .option('--consumer <name>', 'only this consumer')
      .option('--model <name>', 'only this model')
      .option('--service <name>', 'only this service')
      .option('--since <when>', 'from this ISO date/time (UTC) or duration ago (24h, 7d)')
      .option('--until <when>', 'before this ISO date/time (UTC) or duration ago')
      .option('--by <keys>', `group by these, comma-separated: ${USAGE_BY.join(', ')}`, 'consumer,model')
      .option('--rows', 'list the requests instead of totals')
      .option('--limit <n>', 'with --rows: the newest n (default 1000)', '1000')
      .option('--csv', 'print CSV')
      .addHelpText(
        'after',
        '\nOne ledger row per request: tokens (input, cached, cache write, output, reasoning), cost at the\n' +
          "models' price, time to first token, status, and usage_source (reported, or estimated for a cut\n" +
          'stream). See docs/llm.md.',
      ),
  ).action(async (o: UsageOpts) => {
    const now = Date.now();
    const q = new URLSearchParams();
    for (const k of ['consumer', 'model', 'service'] as const) if (o[k] !== undefined) q.set(k, o[k]!);
    if (o.since !== undefined) q.set('since', String(parseWhen('--since', o.since, now)));
    if (o.until !== undefined) q.set('until', String(parseWhen('--until', o.until, now)));
    if (o.rows) {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw badArgument('--limit', `expected a whole number >= 1, got "${o.limit}"`);
      q.set('view', 'rows');
      q.set('limit', String(limit));
      const r = await callAdmin(o, {
        method: 'GET',
        path: `/v1/usage?${q}`,
        valid: (j) => Array.isArray(j?.rows),
      });
      const rows = r.rows as UsageRowView[];
      if (o.csv) return out((await import('../../admin/usage-routes.js')).usageRowsCsv(rows));
      if (o.json) return out(JSON.stringify(rows) + '\n');
      return out(
        table(
          [
            'TIME',
            'CONSUMER',
            'MODEL',
            'BACKEND',
            'INPUT',
            'CACHED',
            'OUTPUT',
            'COST_USD',
            'TTFT_MS',
            'STATUS',
            'SOURCE',
          ],
          rows.map((x) => [
            when(x.time),
            x.consumer || '-',
            x.model,
            x.backend || '-',
            String(x.input),
            String(x.cachedInput),
            String(x.output),
            usd(x.costUsd),
            x.ttftMs === null ? '-' : String(Math.round(x.ttftMs)),
            String(x.status),
            x.usageSource,
          ]),
        ),
      );
    }
    q.set('by', o.by ?? 'consumer,model');
    const r = await callAdmin(o, {
      method: 'GET',
      path: `/v1/usage?${q}`,
      valid: (j) => Array.isArray(j?.groups),
    });
    const by = r.by as string[];
    const groups = r.groups as UsageGroupView[];
    if (o.csv) return out((await import('../../admin/usage-routes.js')).usageGroupsCsv(by, groups));
    if (o.json) return out(JSON.stringify({ by, groups }) + '\n');
    out(
      table(
        [...by.map((k) => k.toUpperCase()), 'REQUESTS', 'INPUT', 'CACHED', 'OUTPUT', 'COST_USD', 'ESTIMATED'],
        groups.map((g) => [
          ...by.map((k) => g.group[k] || '-'),
          String(g.requests),
          String(g.input),
          String(g.cachedInput),
          String(g.output),
          usd(g.costUsd),
          String(g.estimated),
        ]),
      ),
    );
  });
}
