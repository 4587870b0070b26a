/** The UsageLedger contract: the SQLite and the Redis ledger run these cases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UsageLedger, UsageRow } from '../../../src/store/usage-ledger.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);

/** A row with defaults. */
export function usageRow(over: Partial<UsageRow> = {}): UsageRow {
  return {
    time: T0,
    requestId: 'r',
    service: 'ai',
    consumer: 'alice',
    keyId: 'k1',
    model: 'gpt',
    backend: 'instances',
    input: 100,
    cachedInput: 20,
    cacheWrite: 0,
    output: 50,
    reasoning: 5,
    costUsd: 0.001,
    ttftMs: 120,
    durationMs: 900,
    status: 200,
    outcome: 'completed',
    usageSource: 'reported',
    ...over,
  };
}

/** Registers the contract for one ledger; `make` returns an empty ledger. */
export function usageLedgerContract(name: string, make: () => Promise<UsageLedger>): void {
  const rows = [
    usageRow({ requestId: 'a', time: T0 }),
    usageRow({
      requestId: 'b',
      time: T0 + 1000,
      consumer: 'bob',
      keyId: null,
      model: 'claude',
      input: 10,
      output: 7,
    }),
    usageRow({
      requestId: 'c',
      time: T0 + 2000,
      usageSource: 'estimated',
      outcome: 'cut',
      output: 3,
      ttftMs: null,
    }),
    usageRow({ requestId: 'd', time: T0 + DAY, model: 'claude', costUsd: 0.5 }),
  ];

  test(`${name}: append then query returns the rows, oldest first, field for field`, async () => {
    const l = await make();
    for (const r of [...rows].reverse()) await l.append(r);
    assert.deepEqual(await l.query({}), rows);
  });

  test(`${name}: query filters by consumer, model, service, since/until and keeps the newest limit`, async () => {
    const l = await make();
    for (const r of rows) await l.append(r);
    const ids = async (f: Parameters<UsageLedger['query']>[0]) => (await l.query(f)).map((r) => r.requestId);
    assert.deepEqual(await ids({ consumer: 'alice' }), ['a', 'c', 'd']);
    assert.deepEqual(await ids({ model: 'claude' }), ['b', 'd']);
    assert.deepEqual(await ids({ consumer: 'alice', model: 'claude' }), ['d']);
    assert.deepEqual(await ids({ service: 'other' }), []);
    assert.deepEqual(await ids({ since: T0 + 1000 }), ['b', 'c', 'd']);
    assert.deepEqual(await ids({ since: T0 + 1000, until: T0 + 2000 }), ['b']);
    assert.deepEqual(await ids({ limit: 2 }), ['c', 'd']);
  });

  test(`${name}: summary totals per group, estimated rows counted, groups ordered`, async () => {
    const l = await make();
    for (const r of rows) await l.append(r);
    const s = await l.summary({}, ['consumer', 'model']);
    assert.deepEqual(
      s.map((g) => [g.group.consumer, g.group.model, g.requests, g.input, g.output, g.estimated]),
      [
        ['alice', 'claude', 1, 100, 50, 0],
        ['alice', 'gpt', 2, 200, 53, 1],
        ['bob', 'claude', 1, 10, 7, 0],
      ],
    );
    const byDay = await l.summary({ consumer: 'alice' }, ['day']);
    assert.deepEqual(
      byDay.map((g) => [g.group.day, g.requests]),
      [
        ['2026-12-07', 2],
        ['2026-12-08', 1],
      ],
    );
    const all = await l.summary({}, []);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.requests, 4);
    assert.equal(all[0]!.cachedInput, 80);
    assert.equal(all[0]!.reasoning, 20);
    assert.ok(Math.abs(all[0]!.costUsd - 0.503) < 1e-9);
    const keys = await l.summary({ model: 'claude' }, ['keyId']);
    assert.deepEqual(
      keys.map((g) => g.group.keyId),
      ['', 'k1'],
    );
    assert.deepEqual(await l.summary({ consumer: 'nobody' }, ['model']), []);
  });
}
