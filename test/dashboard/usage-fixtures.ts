/**
 * The admin backend's consumers (with budgets) and usage ledger for the dashboard's browser test
 * (issue 19): one consumer `demo` with a daily token budget of 1,000 and a monthly cost budget of
 * $2, which used 1,250 tokens and $0.50 (the same today and this month).
 */
import type { AdminBackend } from '../../src/admin/admin-server.js';

export const usageBackend: Pick<AdminBackend, 'keys' | 'usage'> = {
  keys: {
    consumers: async () => [
      { name: 'demo', metadata: {}, limits: { tokens_per_day: 1000, cost_per_month_usd: 2 }, activeKeys: 1 },
    ],
    list: async () => [],
  } as unknown as AdminBackend['keys'],
  usage: {
    query: () => [],
    summary: () => [
      {
        group: { consumer: 'demo' },
        requests: 3,
        input: 600,
        cachedInput: 0,
        cacheWrite: 0,
        output: 650,
        reasoning: 0,
        costUsd: 0.5,
        estimated: 0,
      },
    ],
  },
};
