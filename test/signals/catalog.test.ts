/** Everything derived from the signal catalogue carries every signal, under its name, with its value. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  flatSignals,
  HISTORY_SIGNALS,
  LOAD_SIGNALS,
  loadSignalsOf,
  readSignal,
  SIGNAL_COUNT,
  SIGNAL_NAMES,
  SIGNALS,
  signalsFromValues,
  writeSignalValues,
} from '../../src/signals/index.js';
import { completeObservation, emptyHistory, type Observation } from '../../src/policy/policy.js';
import { readMetric } from '../../src/policy/builtin/read-metric.js';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { startSandboxWorker } from '../../src/sandbox/sandbox-worker.js';
import { HISTORY_METRICS } from '../../src/simulator/simulate.js';
import { Signals } from '../../src/admin/admin-schemas.js';

/** Signal i is worth 10 + i + 0.25: every value distinct, so a value under the wrong name shows. */
const valueOf = (i: number) => 10 + i + 0.25;

/** An observation with every catalogue signal set to its distinct value. */
function distinctObservation(): Observation {
  const partial: Record<string, unknown> = {};
  SIGNALS.forEach((s, i) => {
    const parts = s.name.split('.');
    let at = partial;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]!] = valueOf(i);
  });
  return completeObservation(partial as Partial<Observation>);
}

/** A Lua policy that logs `ctx.<name>` for every catalogue signal, then the get_* helpers. */
const LOG_ALL = [
  'function decide(ctx)',
  ...SIGNAL_NAMES.map((n) => `log(ctx.${n})`),
  ...SIGNALS.flatMap((s) => ('getter' in s ? [`log(${s.getter}())`] : [])),
  'print(get_latency(50), get_latency(95), get_latency(99))',
  'return 1',
  'end',
].join('\n');

const expectedLogs = [
  ...SIGNALS.map((_, i) => String(valueOf(i))),
  ...SIGNALS.flatMap((s, i) => ('getter' in s ? [String(valueOf(i))] : [])),
  ['latency.p50', 'latency.p95', 'latency.p99']
    .map((n) => valueOf(SIGNAL_NAMES.indexOf(n as never)))
    .join('\t'),
];

function context(observation: Observation) {
  return {
    service: 'web',
    now: 1_700_000_000_000,
    min: 1,
    max: 50,
    observation,
    params: {},
    state: {},
    history: emptyHistory,
  };
}

test('the catalogue names each signal once, nested signals next to each other', () => {
  assert.equal(new Set(SIGNAL_NAMES).size, SIGNAL_COUNT);
  assert.ok(SIGNAL_NAMES.includes('shed_rps') && SIGNAL_NAMES.includes('latency.p95'));
  for (const s of SIGNALS) assert.ok(s.unit && s.meaning && s.label, `${s.name} is fully described`);
});

test('completeObservation carries every catalogue signal at its name', () => {
  const o = distinctObservation();
  SIGNALS.forEach((s, i) => assert.equal(readSignal(o, s.name), valueOf(i), s.name));
  // Usage the instances did not report stays unknown (issue 16 item 13); the gateway's counts are 0.
  const zero = completeObservation({});
  for (const s of LOAD_SIGNALS)
    assert.equal(readSignal(zero, s.name), s.source === 'instances' ? undefined : 0, s.name);
});

test('a Lua policy reads every catalogue signal as ctx.<name>, and the get_* helpers agree', async () => {
  const policy = await loadLuaPolicy({ source: LOG_ALL, chunkName: 'signals.lua' });
  const out = policy.evaluate(context(distinctObservation()));
  policy.close();
  assert.ok(out.ok, JSON.stringify(out));
  assert.deepEqual(out.logs, expectedLogs);
});

test('the sandbox worker sends every catalogue signal across the thread to ctx.<name>', async () => {
  const worker = await startSandboxWorker({ timeoutMs: 5000 });
  try {
    await worker.load('signals', { source: LOG_ALL, chunkName: 'signals.lua' });
    const [out] = await worker.evaluateBatch([{ policyId: 'signals', ctx: context(distinctObservation()) }]);
    assert.ok(out?.ok, JSON.stringify(out));
    assert.deepEqual(out.logs, expectedLogs);
  } finally {
    await worker.close();
  }
});

test('readMetric reads every load signal by name; fleet counts are not target metrics', () => {
  const o = distinctObservation();
  SIGNALS.forEach((s, i) =>
    assert.equal(readMetric(o, s.name), s.kind === 'load' ? valueOf(i) : undefined, s.name),
  );
  assert.equal(readMetric(o, 'concurrency'), o.inflight);
  assert.equal(readMetric({ ...o, metrics: { queue_depth: 7 } }, 'queue_depth'), 7);
});

test('alert values and the wire array hold every signal; history keeps the catalogue history signals', () => {
  const o = distinctObservation();
  const flat = flatSignals(o);
  assert.deepEqual(Object.keys(flat), [...SIGNAL_NAMES]);
  SIGNALS.forEach((s, i) => assert.equal(flat[s.name], valueOf(i), s.name));
  const wire = new Float64Array(SIGNAL_COUNT + 2);
  writeSignalValues(o, wire, 2);
  assert.deepEqual(
    signalsFromValues(wire, 2),
    signalsFromValues(
      SIGNALS.map((_, i) => valueOf(i)),
      0,
    ),
  );
  assert.deepEqual(loadSignalsOf(signalsFromValues(wire, 2)), loadSignalsOf(o));
  assert.deepEqual(
    [...HISTORY_METRICS],
    SIGNALS.filter((s) => s.history).map((s) => s.name),
  );
  assert.deepEqual([...HISTORY_SIGNALS], [...HISTORY_METRICS]);
});

test("the admin API's Signals schema has one property per load signal (latency.* as latency)", () => {
  const fields = [...new Set(LOAD_SIGNALS.map((s) => s.name.split('.')[0]))];
  assert.deepEqual(Object.keys(Signals.properties).sort(), fields.sort());
});
