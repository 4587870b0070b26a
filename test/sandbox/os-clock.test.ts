/** os.time, os.date and os.clock in a policy read the decision clock and the budget, not the host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { startSandboxWorker } from '../../src/sandbox/sandbox-worker.js';
import { isLuascaleError } from '../../src/core/errors.js';
import type { PolicyOutcome } from '../../src/policy/policy.js';
import { contextFor } from './sandbox-fixtures.js';

function logs(outcome: PolicyOutcome): string[] {
  assert.ok(outcome.ok, `expected ok, got ${JSON.stringify(outcome)}`);
  return outcome.logs;
}

test('os.time() and os.date(fmt) are ctx.now in seconds, not the host clock', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'log(os.time())',
      'log(os.date("!%Y-%m-%d %H:%M:%S"))',
      'log(math.type(os.time()))',
      // With a time argument both are the plain functions.
      'log(os.date("!%Y", 0))',
      'log(os.time(os.date("*t", 86400)))',
      'return 1',
    ].join('\n'),
    chunkName: 'clock.lua',
  });
  assert.deepEqual(logs(policy.evaluate(contextFor({}, { now: 1_700_000_000_999 }))), [
    '1700000000',
    '2023-11-14 22:13:20',
    'integer',
    '1970',
    '86400',
  ]);
  // The next tick's clock, not a cached one.
  assert.equal(logs(policy.evaluate(contextFor({}, { now: 1_000 })))[1], '1970-01-01 00:00:01');
  policy.close();
});

test('os.time() at a module top level raises: there is no decision clock while loading', async () => {
  await assert.rejects(
    loadLuaPolicy({
      source: 'local t0 = os.time()\nfunction decide(ctx) return 1 end',
      chunkName: 'top.lua',
    }),
    (err: unknown) =>
      isLuascaleError(err) &&
      /top\.lua:1: os\.time: no decision clock while the policy loads/.test(err.message),
  );
});

// Work proportional to ctx.rps between two os.clock() reads.
const CLOCKED = [
  'function decide(ctx)',
  '  local a = os.clock()',
  '  local x = 0',
  '  for i = 1, ctx.rps do x = x + i end',
  '  log(a) log(os.clock())',
  '  return 1',
  'end',
].join('\n');

test('os.clock() is the call’s consumed budget: same inputs, same answer, whatever ran before', async () => {
  const policy = await loadLuaPolicy({ source: CLOCKED, chunkName: 'c.lua' });
  const small = contextFor({ rps: 37 });
  const first = logs(policy.evaluate(small));
  // A call with a different amount of work in between must not shift the next call's count.
  const big = logs(policy.evaluate(contextFor({ rps: 200_000 })));
  assert.deepEqual(logs(policy.evaluate(small)), first);
  // A fresh VM (eval, a simulation) agrees with a VM that has run before (live).
  const fresh = await loadLuaPolicy({ source: CLOCKED, chunkName: 'c.lua' });
  assert.deepEqual(logs(fresh.evaluate(small)), first);
  // It measures work: 200,000 iterations are several hundred thousand instructions at 25 ns each.
  const spent = Number(big[1]) - Number(big[0]);
  assert.ok(spent > 0.005 && spent < 0.05, `200,000 iterations took ${spent} pseudo-seconds`);
  assert.ok(Number(first[1]) - Number(first[0]) < 0.001, `${first}`);
  policy.close();
  fresh.close();
});

test('the worker answers os.time() and os.clock() as this thread does', async () => {
  const worker = await startSandboxWorker({ timeoutMs: 2000 });
  try {
    const source = CLOCKED.replace('log(a)', 'log(a) log(os.time())');
    await worker.load('c', { source, chunkName: 'c.lua' });
    const local = await loadLuaPolicy({ source, chunkName: 'c.lua' });
    const ctx = contextFor({ rps: 5000 }, { now: 1_700_000_000_000 });
    const there = await worker.evaluate('c', ctx);
    assert.deepEqual(there, local.evaluate(ctx));
    assert.equal(logs(there)[1], '1700000000');
    local.close();
  } finally {
    await worker.close();
  }
});

test('luascale eval of a policy returning os.time() with "now": 1700000000000 answers 1700000000', () => {
  const dir = mkdtempSync(join(tmpdir(), 'luascale-os-'));
  const file = join(dir, 'now.lua');
  writeFileSync(file, 'log(os.time())\nreturn { replicas = 2, reason = "t=" .. os.time() }\n');
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'simulator', 'fixtures', 'run-cli.ts'),
      'eval',
      file,
      '--input',
      '{"now":1700000000000,"replicas":2,"min":1,"max":10}',
      '--json',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { logs: string[]; message: string };
  assert.deepEqual(out.logs, ['1700000000']);
  assert.match(out.message, /t=1700000000/);
});
