import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, SCHEMA_VERSION, type SqliteStore } from '../../../src/store/index.js';
import { usageLedgerContract, usageRow } from './usage-ledger-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-ledger-'));
const stores: SqliteStore[] = [];
let n = 0;
after(() => {
  for (const s of stores) s.close();
  rmSync(dir, { recursive: true, force: true });
});

const open = (file = join(dir, `l${++n}.db`)) => {
  const s = openStore({ file, flushIntervalMs: 0 });
  stores.push(s);
  return s;
};

usageLedgerContract('SqliteUsageLedger', async () => open().usage);

test('the usage table comes with migration 5 and rows survive a reopen', () => {
  assert.ok(SCHEMA_VERSION >= 5);
  const file = join(dir, 'reopen.db');
  const s = openStore({ file, flushIntervalMs: 0 });
  s.usage.append(usageRow({ requestId: 'x' }));
  s.close();
  const again = open(file);
  assert.deepEqual(
    again.usage.query({}).map((r) => r.requestId),
    ['x'],
  );
});
