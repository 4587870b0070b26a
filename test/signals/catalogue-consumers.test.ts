/**
 * The catalogue's consumers follow it without naming its signals (issue 15): a new gateway signal is
 * one catalogue entry plus the code that measures it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  gatewaySignalsOf,
  HISTORY_SIGNALS,
  LOAD_SIGNALS,
  readSignal,
  SIGNALS,
  writeHistoryValues,
  type SignalSpec,
} from '../../src/signals/index.js';
import { TRIAL_POINTS } from '../../src/controller/trial-policy.js';
import { emptySecondSignals, fillSecondSignals } from '../../src/simulator/signal-window.js';
import type { SecondSample } from '../../src/simulator/queue-model.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'dist') sources(p, out);
    } else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('shed_rps is named in at most 4 files under src/: the catalogue, the gateway and the simulator that measure it', () => {
  const naming = sources(SRC)
    .filter((f) => readFileSync(f, 'utf8').includes('shed_rps'))
    .map((f) => relative(SRC, f));
  assert.ok(naming.length <= 4, `files naming shed_rps: ${naming.join(', ')}`);
  assert.ok(naming.includes(join('signals', 'catalog.ts')), naming.join(', '));
});

test("every load signal has trial values, so the trial's overload and fractional points try it non-zero", () => {
  for (const s of LOAD_SIGNALS as readonly SignalSpec[])
    assert.ok(s.trial && s.trial.overload > 0 && s.trial.fractional > 0, s.name);
  const overload = TRIAL_POINTS.find((p) => p.name === 'overload')!.observation;
  const fractional = TRIAL_POINTS.find((p) => p.name === 'fractional values')!.observation;
  for (const s of LOAD_SIGNALS as readonly SignalSpec[]) {
    assert.equal(readSignal(overload, s.name), s.trial!.overload, s.name);
    assert.equal(readSignal(fractional, s.name), s.trial!.fractional, s.name);
    assert.ok(!Number.isInteger(s.trial!.fractional), `${s.name}: fractional`);
  }
});

test("the simulator's second sets every history signal, and its history row holds them in HISTORY_SIGNALS order", () => {
  const sample: SecondSample = {
    offered: 120,
    served: 100,
    dropped: 6,
    queue: 7,
    inflight: 8,
    cpu: 55,
    utilization: 0.55,
    p50: 11,
    p95: 22,
    p99: 33,
  };
  const second = emptySecondSignals();
  // every signal starts at a value the simulator never writes, so one it forgets shows
  for (const s of SIGNALS) {
    const parts = s.name.split('.');
    let o = second as unknown as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]!] = -1;
  }
  fillSecondSignals(second, sample, { replicas: 5, ready: 4, starting: 1 });
  const row = new Float64Array(HISTORY_SIGNALS.length);
  writeHistoryValues(second, row);
  // The optional llm.* signals are the token simulator's (src/simulator/token-simulate.ts), not
  // this request simulator's.
  const optional = new Set(SIGNALS.filter((s) => 'optional' in s && s.optional).map((s) => s.name));
  HISTORY_SIGNALS.forEach((name, j) => {
    if (optional.has(name)) return;
    assert.notEqual(row[j], -1, `${name} is not set by fillSecondSignals`);
    assert.equal(row[j], readSignal(second, name), name);
  });
  assert.equal(readSignal(second, 'rps'), 120);
  assert.equal(readSignal(second, 'error_rate'), 6 / 120);
  assert.equal(readSignal(second, 'latency.p95'), 22);
  assert.equal(readSignal(second, 'starting'), 1);
});

test('gatewaySignalsOf picks exactly the signals the gateway measures, in catalogue order', () => {
  const all = {
    cpu: 1,
    memory: 2,
    rps: 3,
    inflight: 4,
    queue: 5,
    latency: { p50: 6, p95: 7, p99: 8 },
    ready: 9,
  };
  const picked = gatewaySignalsOf({ ...all, error_rate: 0.5, shed_rps: 0.25 }) as unknown as Record<
    string,
    unknown
  >;
  const gateway = SIGNALS.filter((s) => s.source === 'gateway').map((s) => s.name.split('.')[0]!);
  assert.deepEqual(Object.keys(picked), [...new Set(gateway)]);
  assert.equal(picked.cpu, undefined);
  assert.deepEqual(picked.latency, { p50: 6, p95: 7, p99: 8 });
});
