import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { redisUsageLedger } from '../../../src/cluster/redis-usage-ledger.js';
import { startRedis, type TestRedis } from '../../cluster/redis-server.js';
import { usageLedgerContract, usageRow } from './usage-ledger-contract.js';

let server: TestRedis;
let redis: Redis;
let n = 0;

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
});

after(async () => {
  redis.disconnect();
  await server.stop();
});

usageLedgerContract('RedisUsageLedger', async () => redisUsageLedger(redis, `t${++n}:`));

test('two gateways append to one ledger; rows older than keepMs are trimmed', async () => {
  const other = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const now = Date.UTC(2026, 11, 7);
  const a = redisUsageLedger(redis, 'shared:', { keepMs: 1000, now: () => now });
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
