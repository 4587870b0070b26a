/// <reference lib="dom" />
/**
 * The overview's usage panel (issue 19): per consumer, the tokens (prompt + output) and cost of AI
 * services today and this month (UTC, as the budgets count them) from `GET /v1/usage`, each against
 * the consumer's budget from `GET /v1/consumers` as a bar (`<meter>`) when it has one. Hidden on a
 * server without a usage ledger (404) and while there is nothing to show.
 */
import { h, fmt } from './dom.js';
import { ApiError, type ApiClient } from './api-client.js';
import type { ConsumerBudgets, UsageGroup } from './api-types.js';

/** One figure of a row: what was used in a window, and the budget it counts against. */
export interface UsageCell {
  used: number;
  budget?: number;
  /** used / budget, when there is a budget. */
  fraction?: number;
}

/** One consumer's row: tokens and cost, today and this month. */
export interface UsageRow {
  consumer: string;
  tokensDay: UsageCell;
  costDay: UsageCell;
  tokensMonth: UsageCell;
  costMonth: UsageCell;
}

/** Epoch ms of the start of the UTC day and of the UTC calendar month holding `now`. */
export function usageWindows(now: number): { day: number; month: number } {
  const d = new Date(now);
  return {
    day: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()),
    month: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
  };
}

const cell = (used: number, budget: number | undefined): UsageCell =>
  budget === undefined ? { used } : { used, budget, fraction: used / budget };

/**
 * The rows: every configured consumer, then any other consumer the ledger holds (`''`, a route
 * without keys, included), by name. `today` and `month` are `GET /v1/usage?by=consumer` totals.
 */
export function usageRows(input: {
  consumers: readonly ConsumerBudgets[];
  today: readonly UsageGroup[];
  month: readonly UsageGroup[];
}): UsageRow[] {
  const byConsumer = (groups: readonly UsageGroup[]) =>
    new Map(groups.map((g) => [g.group.consumer ?? '', g]));
  const today = byConsumer(input.today);
  const month = byConsumer(input.month);
  const limits = new Map(input.consumers.map((c) => [c.name, c.limits ?? {}]));
  const names = [...new Set([...limits.keys(), ...month.keys(), ...today.keys()])].sort();
  return names.map((consumer) => {
    const l = limits.get(consumer) ?? {};
    const d = today.get(consumer);
    const m = month.get(consumer);
    return {
      consumer,
      tokensDay: cell((d?.input ?? 0) + (d?.output ?? 0), l.tokens_per_day),
      costDay: cell(d?.costUsd ?? 0, l.cost_per_day_usd),
      tokensMonth: cell((m?.input ?? 0) + (m?.output ?? 0), l.tokens_per_month),
      costMonth: cell(m?.costUsd ?? 0, l.cost_per_month_usd),
    };
  });
}

function usd(v: number): string {
  return `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`;
}

function td(c: UsageCell, show: (v: number) => string): HTMLTableCellElement {
  const over = c.fraction !== undefined && c.fraction >= 1;
  return h(
    'td',
    { class: `num usage-cell ${over ? 'bad' : ''}` },
    c.budget === undefined ? show(c.used) : `${show(c.used)} / ${show(c.budget)}`,
    c.budget === undefined
      ? null
      : h('meter', {
          min: 0,
          max: c.budget,
          value: Math.min(c.used, c.budget),
          low: c.budget * 0.8,
          high: c.budget * 0.95,
          optimum: 0,
          title: `${fmt(c.fraction! * 100)}% of the budget`,
        }),
  );
}

/** The panel: `el` goes on the page, `refresh()` re-reads the usage. */
export function createUsagePanel(api: ApiClient, fail: (err: unknown) => void) {
  const body = h('tbody');
  const el = h(
    'section',
    { id: 'usage', hidden: true },
    h('h2', {}, 'Usage by consumer'),
    h(
      'table',
      { class: 'services usage' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'consumer'),
          h('th', { title: 'prompt + output tokens, UTC day / daily budget' }, 'tokens today'),
          h('th', {}, 'cost today'),
          h('th', { title: 'prompt + output tokens, UTC month / monthly budget' }, 'tokens this month'),
          h('th', {}, 'cost this month'),
        ),
      ),
      body,
    ),
  );
  async function load(): Promise<void> {
    const w = usageWindows(Date.now());
    const [consumers, today, month] = await Promise.all([
      // A server without API keys answers 404: no budgets then.
      api.consumers().then(
        (r) => r.consumers,
        (err: unknown) => (err instanceof ApiError && err.status === 404 ? [] : Promise.reject(err)),
      ),
      api.usage({ by: 'consumer', since: w.day }),
      api.usage({ by: 'consumer', since: w.month }),
    ]);
    const rows = usageRows({ consumers, today: today.groups ?? [], month: month.groups ?? [] });
    body.replaceChildren(
      ...rows.map((r) =>
        h(
          'tr',
          { 'data-consumer': r.consumer },
          h('td', {}, r.consumer || '(no key)'),
          td(r.tokensDay, (v) => fmt(v)),
          td(r.costDay, usd),
          td(r.tokensMonth, (v) => fmt(v)),
          td(r.costMonth, usd),
        ),
      ),
    );
    el.hidden = rows.length === 0;
  }
  return {
    el,
    refresh: (): Promise<void> =>
      load().catch((err: unknown) => {
        // No usage ledger on this server: the panel stays hidden.
        if (err instanceof ApiError && err.status === 404) el.hidden = true;
        else fail(err);
      }),
  };
}
