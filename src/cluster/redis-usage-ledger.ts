/**
 * The usage ledger in cluster mode: one Redis sorted set `<prefix>usage`, each member a row's JSON
 * scored by its time, so every gateway appends to the same ledger with one ZADD and a time range
 * is one ZRANGEBYSCORE. Filters other than time and the summary run here, over the range read.
 * Rows older than `keepMs` (default 400 days) are trimmed every 1,000 appends.
 */
import type { Redis } from 'ioredis';
import {
  matchesUsageFilter,
  summarizeUsage,
  type UsageFilter,
  type UsageLedger,
  type UsageRow,
} from '../store/usage-ledger.js';

/** Options of the Redis ledger. */
export interface RedisUsageLedgerOptions {
  /** Rows are kept this long (ms, default 400 days). */
  keepMs?: number;
  /** Epoch ms now, for trimming (default Date.now). */
  now?: () => number;
}

/** The ledger of `store: { redis }`, under the store's key prefix. */
export function redisUsageLedger(
  redis: Redis,
  prefix: string,
  options: RedisUsageLedgerOptions = {},
): UsageLedger {
  const key = `${prefix}usage`;
  const keepMs = options.keepMs ?? 400 * 86_400_000;
  const now = options.now ?? Date.now;
  let appends = 0;
  const range = async (filter: UsageFilter): Promise<UsageRow[]> => {
    // until is exclusive: '(' makes the bound open
    const max = filter.until === undefined ? '+inf' : `(${filter.until}`;
    const members = await redis.zrangebyscore(key, filter.since ?? '-inf', max);
    return members.map((m) => JSON.parse(m) as UsageRow).filter((r) => matchesUsageFilter(r, filter));
  };
  return {
    async append(row) {
      await redis.zadd(key, row.time, JSON.stringify(row));
      if (++appends % 1000 === 0) await redis.zremrangebyscore(key, '-inf', `(${now() - keepMs}`);
    },
    async query(filter) {
      const rows = await range(filter);
      return filter.limit === undefined ? rows : rows.slice(Math.max(0, rows.length - filter.limit));
    },
    async summary(filter, groupBy) {
      return summarizeUsage(await range(filter), groupBy);
    },
  };
}
