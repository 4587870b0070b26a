import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuiltin } from '../../src/policy/builtins.js';
import { completeObservation, emptyHistory, type PolicyContext } from '../../src/policy/policy.js';
import {
  occupancy,
  predictTtftP95,
  replicasFor,
  type LlmFit,
} from '../../src/policy/builtin/llm-queue-model.js';

function ctx(o: {
  ready: number;
  starting?: number;
  queue?: number;
  rps?: number;
  llm: Record<string, unknown>;
}): PolicyContext {
  const observation = completeObservation({
    ready: o.ready,
    starting: o.starting ?? 0,
    replicas: o.ready + (o.starting ?? 0),
    queue: o.queue ?? 0,
    rps: o.rps ?? 0,
  });
  (observation as unknown as Record<string, unknown>).llm = o.llm;
  return {
    service: 's',
    now: 0,
    min: 1,
    max: 100,
    observation,
    params: {},
    state: {},
    history: emptyHistory,
  };
}

function replicas(name: string, c: PolicyContext, params: Record<string, unknown> = {}): number {
  const out = loadBuiltin(name, params).evaluate(c);
  assert.ok(out.ok, JSON.stringify(out));
  return out.ok ? out.replicas : -1;
}

test('llm-saturation: WVA thresholds, table', () => {
  const rows: Array<[string, Parameters<typeof ctx>[0], number]> = [
    [
      'spare KV below 0.1: enough to bring KV back to 0.7',
      { ready: 4, llm: { waiting: 0, kv_util: 0.75 } },
      5,
    ],
    ['spare queue below 3: waiting / 2', { ready: 4, llm: { waiting: 20, kv_util: 0.2 } }, 10],
    ['gateway queue counts as waiting', { ready: 4, queue: 20, llm: { waiting: 0, kv_util: 0.2 } }, 10],
    [
      'plenty: the fewest that keep the spares (0.8 KV / 0.7)',
      { ready: 4, llm: { waiting: 0, kv_util: 0.2 } },
      2,
    ],
    ['not plenty on 3 of 4: hold', { ready: 4, llm: { waiting: 0, kv_util: 0.6 } }, 4],
    ['no scale-down while replicas start', { ready: 4, starting: 1, llm: { waiting: 0, kv_util: 0.1 } }, 5],
    [
      'starting replicas already cover the need: hold',
      { ready: 4, starting: 2, llm: { waiting: 0, kv_util: 0.75 } },
      6,
    ],
    ['no llm signals: keep', { ready: 4, llm: {} }, 4],
  ];
  for (const [name, o, want] of rows) assert.equal(replicas('llm-saturation', ctx(o)), want, name);
});

test('keda-llm-waiting: ceil((llm.waiting + queue) / 5), HPA tolerance', () => {
  assert.equal(replicas('keda-llm-waiting', ctx({ ready: 2, llm: { waiting: 31 } })), 7);
  assert.equal(replicas('keda-llm-waiting', ctx({ ready: 2, queue: 20, llm: { waiting: 11 } })), 7);
  assert.equal(replicas('keda-llm-waiting', ctx({ ready: 2, llm: { waiting: 10.5 } })), 2); // within 10 %
  assert.equal(replicas('keda-llm-waiting', ctx({ ready: 4, llm: { waiting: 0 } })), 0);
  assert.equal(replicas('keda-llm-waiting', ctx({ ready: 4, llm: {} })), 4);
});

const fit: LlmFit = { s0: 0.8, slope: 1 / 15, seats: 16, prefillP95Ms: 1200 };

test('llm-slo model: occupancy solves Little’s law with the slowdown; past capacity is Infinity', () => {
  const n = occupancy(fit, 10, 2);
  assert.ok(Math.abs(n - (10 * 0.8 * (1 + (n - 1) / 15)) / 2) < 1e-9);
  assert.equal(occupancy(fit, 200, 2), Infinity);
  assert.equal(predictTtftP95(fit, 200, 2), Infinity);
});

test('llm-slo model: the predicted TTFT falls with replicas and rises with load; replicasFor is the fewest', () => {
  for (let r = 2; r < 20; r++) assert.ok(predictTtftP95(fit, 50, r + 1) <= predictTtftP95(fit, 50, r));
  assert.ok(predictTtftP95(fit, 60, 8) > predictTtftP95(fit, 30, 8));
  const n = replicasFor(fit, 50, { targetMs: 1600, max: 100 });
  assert.ok(predictTtftP95(fit, 50, n) <= 1600);
  assert.ok(predictTtftP95(fit, 50, n - 1) > 1600);
  // A target under the prefill time alone: the fewest within 10 % of it, not the maximum.
  assert.ok(replicasFor(fit, 50, { targetMs: 500, max: 100 }) < 100);
});

test('llm-slo holds until its model has a queue-free sample, then sizes for the SLO', () => {
  const p = loadBuiltin('llm-slo', { ttft_p95_ms: 2000 });
  const state: Record<string, unknown> = {};
  const first = p.evaluate({ ...ctx({ ready: 2, rps: 0, llm: {} }), state });
  assert.ok(first.ok && first.replicas === 2);
  const c = ctx({
    ready: 2,
    rps: 20,
    llm: { waiting: 0, running: 20, itl: { p50: 18 }, ttft: { p95: 900 } },
  });
  const out = p.evaluate({ ...c, state });
  assert.ok(out.ok);
  assert.ok(out.ok && out.replicas >= 2 && out.replicas <= 4, JSON.stringify(out));
  assert.equal(typeof state.s0, 'number');
});

test('llm policies reject unknown params', () => {
  assert.throws(() => loadBuiltin('llm-slo', { ttft_p99: 1 }), /unknown parameter/);
  assert.throws(() => loadBuiltin('llm-saturation', { kv_spare_trigger: 0.9 }), /kv_spare_trigger/);
  assert.throws(() => loadBuiltin('keda-llm-waiting', { threshold: 0 }), /threshold/);
});
