/**
 * The dashboard's usage panel (issue 19), DOM-free: per consumer, tokens (prompt + output) and
 * cost today and this month against the consumer's budgets from GET /v1/consumers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usageRows, usageWindows } from '../../src/admin/dashboard/usage-panel.js';
import type { UsageGroup } from '../../src/admin/dashboard/api-types.js';

const group = (consumer: string, t: { input: number; output: number; costUsd: number }): UsageGroup => ({
  group: { consumer },
  requests: 1,
  cachedInput: 0,
  cacheWrite: 0,
  reasoning: 0,
  estimated: 0,
  ...t,
});

test('the windows start at the UTC day and the UTC calendar month, as the budgets count them', () => {
  const now = Date.UTC(2026, 11, 7, 15, 30, 12, 345);
  assert.deepEqual(usageWindows(now), { day: Date.UTC(2026, 11, 7), month: Date.UTC(2026, 11, 1) });
  // Just after midnight UTC on the 1st, both windows start at that midnight.
  const first = Date.UTC(2027, 0, 1, 0, 0, 1);
  assert.deepEqual(usageWindows(first), { day: Date.UTC(2027, 0, 1), month: Date.UTC(2027, 0, 1) });
});

test('each consumer: tokens and cost today and this month, against its budgets', () => {
  const rows = usageRows({
    consumers: [
      { name: 'demo', limits: { tokens_per_day: 1000, tokens_per_month: 20000, cost_per_month_usd: 2 } },
      { name: 'idle', limits: null },
    ],
    today: [group('demo', { input: 600, output: 650, costUsd: 0.25 })],
    month: [
      group('demo', { input: 5000, output: 5000, costUsd: 1.5 }),
      group('', { input: 10, output: 5, costUsd: 0 }),
    ],
  });
  assert.deepEqual(
    rows.map((r) => r.consumer),
    ['', 'demo', 'idle'],
  );
  const demo = rows.find((r) => r.consumer === 'demo')!;
  // Over its daily token budget: 1,250 of 1,000.
  assert.deepEqual(demo.tokensDay, { used: 1250, budget: 1000, fraction: 1.25 });
  assert.deepEqual(demo.costDay, { used: 0.25 });
  assert.deepEqual(demo.tokensMonth, { used: 10000, budget: 20000, fraction: 0.5 });
  assert.deepEqual(demo.costMonth, { used: 1.5, budget: 2, fraction: 0.75 });
  // A configured consumer with no usage yet is listed at 0; one without limits has no budgets.
  const idle = rows.find((r) => r.consumer === 'idle')!;
  assert.deepEqual(idle.tokensMonth, { used: 0 });
  assert.deepEqual(rows.find((r) => r.consumer === '')!.tokensMonth, { used: 15 });
});
