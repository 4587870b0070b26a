/** The llm.* signals: optional, so a service without them shows none and Lua reads nil, never 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadSignalsOf,
  readSignal,
  signalsFromValues,
  SIGNAL_COUNT,
  writeSignalValues,
} from '../../src/signals/index.js';
import { completeObservation, emptyHistory, type Observation } from '../../src/policy/policy.js';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { startSandboxWorker } from '../../src/sandbox/sandbox-worker.js';

const READ = [
  'function decide(ctx)',
  '  log(tostring(ctx.llm.waiting) .. " " .. tostring(ctx.llm.kv_util) .. " " .. tostring(ctx.llm.ttft.p95) .. " " .. tostring(get_metric("llm.kv_util")))',
  '  return 1',
  'end',
].join('\n');

const context = (observation: Observation) => ({
  service: 'chat',
  now: 1_700_000_000_000,
  min: 1,
  max: 10,
  observation,
  params: {},
  state: {},
  history: emptyHistory,
});

test('a service without llm signals has no llm group; a partial one keeps the absent ones undefined', () => {
  assert.equal('llm' in loadSignalsOf({ rps: 1 }), false);
  assert.equal('llm' in signalsFromValues(new Float64Array(SIGNAL_COUNT).fill(Number.NaN), 0), false);
  const o = loadSignalsOf({ llm: { waiting: 3, ttft: { p95: 250 } } });
  assert.equal(readSignal(o, 'llm.waiting'), 3);
  assert.equal(readSignal(o, 'llm.ttft.p95'), 250);
  assert.equal(readSignal(o, 'llm.kv_util'), undefined);
  assert.equal(readSignal(o, 'llm.ttft.p50'), undefined);
});

test('the wire array carries absent llm signals as NaN and reads them back as undefined', () => {
  const wire = new Float64Array(SIGNAL_COUNT);
  writeSignalValues(completeObservation({ llm: { waiting: 2 } } as Partial<Observation>), wire, 0);
  const back = signalsFromValues(wire, 0);
  assert.equal(readSignal(back, 'llm.waiting'), 2);
  assert.equal(readSignal(back, 'llm.kv_util'), undefined);
});

for (const where of ['in-thread', 'worker'] as const) {
  test(`Lua (${where}): absent llm signals are nil, never 0; present ones are their values`, async () => {
    const run = async (o: Observation) => {
      if (where === 'in-thread') {
        const policy = await loadLuaPolicy({ source: READ, chunkName: 'llm.lua' });
        try {
          return policy.evaluate(context(o));
        } finally {
          policy.close();
        }
      }
      const worker = await startSandboxWorker({ timeoutMs: 5000 });
      try {
        await worker.load('llm', { source: READ, chunkName: 'llm.lua' });
        return (await worker.evaluateBatch([{ policyId: 'llm', ctx: context(o) }]))[0]!;
      } finally {
        await worker.close();
      }
    };
    const none = await run(completeObservation({ rps: 5 }));
    assert.ok(none.ok, JSON.stringify(none));
    assert.deepEqual(none.logs, ['nil nil nil nil']);
    const some = await run(
      completeObservation({ llm: { waiting: 4, ttft: { p95: 180.5 } } } as Partial<Observation>),
    );
    assert.ok(some.ok, JSON.stringify(some));
    assert.deepEqual(some.logs, ['4.0 nil 180.5 nil']);
  });
}
