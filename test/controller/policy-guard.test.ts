/** The controller runs the policy off-thread exactly when decide() would evaluate it (one guard). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { StaticProvider } from '../../src/providers/static-provider.js';
import { ServiceController } from '../../src/controller/service-controller.js';
import { decide, defaultBehavior, policyRuns } from '../../src/controller/decide.js';
import { initialDecisionState, type DecisionState, type ScalingSpec } from '../../src/controller/decision.js';
import { completeObservation, emptyHistory, type Policy } from '../../src/policy/policy.js';

/** A policy that counts its in-thread calls (a Lua policy's VM on the main thread). */
function countingPolicy(): Policy & { calls: number } {
  const p = {
    name: 'counting.lua',
    calls: 0,
    evaluate: () => {
      p.calls++;
      return { ok: true as const, replicas: 1, raw: 1, logs: [], alerts: [] };
    },
  };
  return p;
}

function spec(policy: Policy): ScalingSpec {
  return {
    service: 'web',
    min: 1,
    max: 4,
    intervalMs: 1000,
    behavior: defaultBehavior(),
    policy,
    params: {},
  };
}

test('on the first tick after an override expires the policy runs through the worker path, not in-thread', async () => {
  const clock = new ManualClock(1_000_000);
  const provider = new StaticProvider({ service: 'web', targets: ['http://127.0.0.1:9'], clock });
  const inThread = countingPolicy();
  let offThread = 0;
  const controller = new ServiceController({
    spec: spec(inThread),
    provider,
    clock,
    signals: { snapshot: () => ({ rps: 10 }) },
    evaluatePolicy: async () => {
      offThread++;
      return { ok: true, replicas: 1, raw: 1, logs: [], alerts: [] };
    },
  });
  try {
    controller.setOverride(2, 5_000);
    let d = await controller.tick();
    assert.equal(d.reason, 'ManualOverride');
    assert.equal(offThread, 0);
    clock.advance(5_000); // until is exclusive: the override has expired at this tick
    d = await controller.tick();
    assert.notEqual(d.reason, 'ManualOverride');
    assert.equal(offThread, 1, 'the worker path evaluated the policy');
    assert.equal(inThread.calls, 0, 'the in-thread VM was not used');
    assert.equal(controller.status().override, null);
  } finally {
    await controller.stop();
    await provider.close();
  }
});

test('policyRuns() is true exactly when decide() evaluates the policy', () => {
  const now = 50_000;
  const overrides: DecisionState['override'][] = [
    null,
    { replicas: 2, until: null },
    { replicas: 2, until: now + 1 },
    { replicas: 2, until: now },
    { replicas: 2, until: now - 1 },
  ];
  for (const paused of [false, true])
    for (const override of overrides)
      for (const fresh of [true, false, undefined]) {
        const policy = countingPolicy();
        const state = { ...initialDecisionState(), paused, override };
        const observation = { ...completeObservation({ replicas: 2, rps: 10 }), fresh };
        decide(spec(policy), { observation, history: emptyHistory, state, now });
        const label = JSON.stringify({ paused, override, fresh });
        assert.equal(policy.calls === 1, policyRuns(state, observation, now), label);
      }
});
