/**
 * Issue 16 item 13: an unknown CPU (a provider that reports no usage: Kubernetes without the
 * resource metrics API, exec, static) must stay unknown: absent in the observation and the admin
 * API, nil in Lua, and "no data: hold" in the built-ins, as the HPA does on missing metrics.
 * Before the fix the controller filled it with 0, and target tracking on CPU scaled down to min.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { ServiceController } from '../../src/controller/service-controller.js';
import { StaticProvider } from '../../src/providers/static-provider.js';
import { loadBuiltin } from '../../src/policy/builtins.js';
import { completeObservation, emptyHistory } from '../../src/policy/policy.js';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import {
  loadSignalsOf,
  signalsFromValues,
  writeSignalValues,
  SIGNAL_COUNT,
} from '../../src/signals/index.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

const targets = ['http://127.0.0.1:9', 'http://127.0.0.1:10', 'http://127.0.0.1:11'];

for (const builtin of ['target-tracking', 'hpa', 'step'] as const) {
  test(`${builtin} on cpu holds when the provider reports no usage (no scale-down to min)`, async () => {
    const clock = new ManualClock(1_000_000);
    const provider = new StaticProvider({ service: 'web', targets, clock });
    const params: Record<string, unknown> =
      builtin === 'step'
        ? {
            metric: 'cpu',
            threshold: 60,
            steps: [
              { upper: 0, change: -1 },
              { lower: 0, change: 1 },
            ],
          }
        : { metric: 'cpu', target: 60 };
    const controller = new ServiceController({
      spec: rpsScalingSpec({ min: 1, max: 10, policy: loadBuiltin(builtin, params) }),
      provider,
      clock,
      signals: { snapshot: () => ({ rps: 120 }) },
    });
    // Past every stabilization window: a scale-down would have happened by now.
    let d = await controller.tick();
    for (let i = 0; i < 400; i++) {
      clock.advance(1000);
      d = await controller.tick();
    }
    assert.equal(d.replicas, 3, `${d.reason}: ${d.message}`);
    assert.match(d.message, /no cpu data|keep 3|kept 3/);
    const o = controller.status().lastObservation!;
    assert.equal(o.cpu, undefined, 'unknown cpu is absent, not 0');
    assert.equal(o.memory, undefined);
    assert.equal(o.rps, 120);
    provider.close();
  });
}

test('Lua sees an unknown cpu as nil (ctx.cpu and get_cpu_usage), a known one as its value', async () => {
  const policy = await loadLuaPolicy({
    source: `function decide(ctx)
      if ctx.cpu == nil and get_cpu_usage() == nil and ctx.memory == nil then return 7 end
      return math.floor(ctx.cpu)
    end`,
  });
  const ctx = (cpu?: number) => ({
    service: 'web',
    now: 1_000_000,
    min: 0,
    max: 100,
    observation: completeObservation({ replicas: 2, rps: 5, ...(cpu === undefined ? {} : { cpu }) }),
    params: {},
    state: {},
    history: emptyHistory,
  });
  const unknown = policy.evaluate(ctx());
  assert.ok(unknown.ok, JSON.stringify(unknown));
  assert.equal(unknown.replicas, 7);
  const known = policy.evaluate(ctx(42.5));
  assert.ok(known.ok, JSON.stringify(known));
  assert.equal(known.replicas, 42);
  policy.close();
});

test('the admin API and the sandbox wire carry an unknown cpu as absent, not 0', () => {
  const signals = JSON.parse(JSON.stringify(loadSignalsOf({ rps: 3 }))) as Record<string, unknown>;
  assert.equal('cpu' in signals, false);
  assert.equal('memory' in signals, false);
  assert.equal(signals.rps, 3);
  const wire = new Float64Array(SIGNAL_COUNT);
  writeSignalValues(completeObservation({ replicas: 1, rps: 3 }), wire, 0);
  const back = signalsFromValues(wire, 0);
  assert.equal(back.cpu, undefined);
  assert.equal(back.rps, 3);
  writeSignalValues(completeObservation({ replicas: 1, cpu: 0 }), wire, 0);
  assert.equal(signalsFromValues(wire, 0).cpu, 0, 'a measured 0 % stays 0');
});
