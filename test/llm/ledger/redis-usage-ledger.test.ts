import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { redisUsageLedger } from '../../../src/cluster/redis-usage-ledger.js';
import { redisForFile } from '../../cluster/redis-server.js';
import { usageLedgerContract, usageRow } from './usage-ledger-contract.js';

const live = redisForFile();
let n = 0;

usageLedgerContract('RedisUsageLedger', async () => redisUsageLedger(live.redis, `t${++n}:`));

test('two gateways append to one ledger; rows older than keepMs are trimmed', async () => {
  const other = new Redis(live.server.url, { maxRetriesPerRequest: 1 });
  const now = Date.UTC(2026, 11, 7);
  const a = redisUsageLedger(live.redis, 'shared:', { keepMs: 1000, now: () => now });
  const b = redisUsageLedger(other, 'shared:', { keepMs: 1000, now: () => now });
  await a.append(usageRow({ requestId: 'old', time: now - 5000 }));
  for (let i = 0; i < 999; i++) await b.append(usageRow({ requestId: `r${i}`, time: now + i }));
  assert.equal((await a.query({})).length, 1000, 'no trim before the 1,000th append of a ledger');
  for (let i = 0; i < 1000; i++) await a.append(usageRow({ requestId: `s${i}`, time: now + i }));
  const rows = await b.query({});
  assert.equal(rows.length, 1999);
  assert.ok(!rows.some((r) => r.requestId === 'old'));
  other.disconnect();
});
