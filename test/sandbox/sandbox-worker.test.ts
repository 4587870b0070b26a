/** SandboxWorker: policies in a worker thread, batches, the wall-clock deadline and the history bridge. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandboxWorker, type SandboxWorker } from '../../src/sandbox/sandbox-worker.js';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { contextFor, fakeHistory } from './sandbox-fixtures.js';

const HANG = 'local s = string.rep("a", 20000)\nreturn s:find(".-.-.-.-.-b") and 1 or 2';
let worker: SandboxWorker;

before(async () => {
  // 500 ms: a deadline that a busy CI machine does not trip for an honest call; strikes 1 so the
  // quarantine test needs one hang.
  worker = await startSandboxWorker({ timeoutMs: 500, quarantineMs: 60_000, strikes: 1 });
  await worker.load('seed', { file: 'examples/policies/seed-cpu.lua' });
});

after(() => worker.close());

test('a policy in the worker answers like the same policy in this thread', async () => {
  const local = await loadLuaPolicy({ file: 'examples/policies/seed-cpu.lua' });
  for (const cpu of [85, 10, 50]) {
    const ctx = contextFor({ cpu, replicas: 2 });
    assert.deepEqual(await worker.evaluate('seed', ctx), local.evaluate(ctx));
  }
  local.close();
});

test('a batch returns one outcome per call, in order', async () => {
  const calls = Array.from({ length: 500 }, (_, i) => ({
    policyId: 'seed',
    ctx: contextFor({ cpu: i % 3 === 0 ? 90 : i % 3 === 1 ? 5 : 50, replicas: 4 }),
  }));
  const outcomes = await worker.evaluateBatch(calls);
  assert.equal(outcomes.length, 500);
  outcomes.forEach((out, i) => {
    assert.ok(out.ok);
    assert.equal(out.replicas, [5, 3, 4][i % 3]);
  });
});

test('history() in the worker reads the main thread HistoryReader synchronously', async () => {
  await worker.load('hist', {
    source: 'function decide(ctx)\n  local h = ctx.history("rps", 3)\n  return h[1] + h[2] + h[3]\nend',
    chunkName: 'hist.lua',
  });
  const history = fakeHistory((metric, i) => (metric === 'rps' ? 10 * (i + 1) : -1));
  const out = await worker.evaluate('hist', contextFor({}, { history }));
  assert.ok(out.ok && out.replicas === 60, JSON.stringify(out));
  // Two calls of a batch see their own history readers.
  const [a, b] = await worker.evaluateBatch([
    { policyId: 'hist', ctx: contextFor({}, { history: fakeHistory(() => 1) }) },
    { policyId: 'hist', ctx: contextFor({}, { history: fakeHistory(() => 2) }) },
  ]);
  assert.ok(a!.ok && a!.replicas === 3 && b!.ok && b!.replicas === 6);
});

test('a syntax error rejects load() with the same LuascaleError as loadLuaPolicy', async () => {
  await assert.rejects(
    worker.load('bad', { source: 'function decide(ctx)\n  return (\nend', chunkName: 'policies/bad.lua' }),
    (err: unknown) =>
      isLuascaleError(err, 'LS_ERR_POLICY_SYNTAX') &&
      /^policies\/bad\.lua:3: syntax error/.test((err as Error).message),
  );
});

test('an unknown policy id is an outcome, not a rejection', async () => {
  const out = await worker.evaluate('nope', contextFor({}));
  assert.ok(!out.ok && out.code === 'LS_ERR_POLICY_NOT_FOUND');
});

test('a hung call times out, the rest of its batch completes in the respawned worker, and the policy is quarantined', async () => {
  await worker.load('hang', { source: HANG, chunkName: 'policies/hang.lua' });
  const restarts = worker.restarts;
  const outcomes = await worker.evaluateBatch([
    { policyId: 'seed', ctx: contextFor({ cpu: 85, replicas: 2 }) },
    { policyId: 'hang', ctx: contextFor({}) },
    { policyId: 'seed', ctx: contextFor({ cpu: 10, replicas: 2 }) },
  ]);
  assert.ok(outcomes[0]!.ok && outcomes[0]!.replicas === 3, JSON.stringify(outcomes[0]));
  assert.ok(!outcomes[1]!.ok && outcomes[1]!.code === 'LS_ERR_POLICY_TIMEOUT', JSON.stringify(outcomes[1]));
  assert.ok(outcomes[2]!.ok && outcomes[2]!.replicas === 1, JSON.stringify(outcomes[2]));
  assert.equal(worker.restarts, restarts + 1);
  // Quarantined: answered without running it, so without another restart.
  const again = await worker.evaluate('hang', contextFor({}));
  assert.ok(
    !again.ok && again.code === 'LS_ERR_POLICY_TIMEOUT' && /skipped for \d+ s/.test(again.error),
    JSON.stringify(again),
  );
  assert.equal(worker.restarts, restarts + 1);
  // Policies loaded before the restart still work (they were reloaded).
  const hist = await worker.evaluate('hist', contextFor({}, { history: fakeHistory(() => 1) }));
  assert.ok(hist.ok && hist.replicas === 3);
  await worker.unload('hang');
});

test('state round-trips through the worker, including a policy called twice in one batch', async () => {
  await worker.load('count', {
    source: 'function decide(ctx)\n  ctx.state.n = (ctx.state.n or 0) + 1\n  return ctx.state.n\nend',
    chunkName: 'count.lua',
  });
  let state: Record<string, unknown> = {};
  for (let i = 1; i <= 3; i++) {
    const out = await worker.evaluate('count', contextFor({}, { state }));
    assert.ok(out.ok && out.replicas === i, JSON.stringify(out));
    state = out.state!;
  }
  // Twice in one batch with the same input state: both calls start from n = 3.
  const [a, b] = await worker.evaluateBatch([
    { policyId: 'count', ctx: contextFor({}, { state }) },
    { policyId: 'count', ctx: contextFor({}, { state }) },
  ]);
  assert.ok(a!.ok && a!.replicas === 4 && b!.ok && b!.replicas === 4, JSON.stringify([a, b]));
  // A state restored from elsewhere replaces the worker's copy.
  const c = await worker.evaluate('count', contextFor({}, { state: { n: 10 } }));
  assert.ok(c.ok && c.replicas === 11);
  // params and the service name reach the policy, and a change of params is seen.
  await worker.load('params', {
    source: 'function decide(ctx) log(ctx.service) return ctx.params.n end',
    chunkName: 'params.lua',
  });
  const p1 = await worker.evaluate('params', contextFor({}, { params: { n: 5 }, service: 'api' }));
  const p2 = await worker.evaluate('params', contextFor({}, { params: { n: 6 }, service: 'api' }));
  assert.ok(p1.ok && p1.replicas === 5 && p1.logs[0] === 'api' && p2.ok && p2.replicas === 6);
});

test('by default a policy is quarantined after two timeouts in a row, not after one', async () => {
  const w = await startSandboxWorker({ timeoutMs: 100 });
  try {
    await w.load('hang', { source: HANG, chunkName: 'policies/hang.lua' });
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await w.evaluate('hang', contextFor({}));
      codes.push(!out.ok ? out.code : 'ok');
    }
    assert.deepEqual(codes, ['LS_ERR_POLICY_TIMEOUT', 'LS_ERR_POLICY_TIMEOUT', 'LS_ERR_POLICY_TIMEOUT']);
    // Two restarts; the third call was answered from the quarantine.
    assert.equal(w.restarts, 2);
  } finally {
    await w.close();
  }
});
