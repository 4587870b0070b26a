/**
 * Every built-in runs the shared Policy contract (test/policy/policy-contract.ts) with the stronger
 * built-in promise: it loads with defaults (or its minimal params), and answers ok with a whole,
 * non-negative, finite count even for hostile observations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_NAMES, loadBuiltin } from '../../src/policy/builtins.js';
import { testContext } from '../helpers/policy-context.js';
import { HOSTILE_OBSERVATIONS, policyContract } from './policy-contract.js';

/** The least each built-in needs to load. */
export const MINIMAL_PARAMS: Record<string, Record<string, unknown>> = {
  'target-tracking': {},
  step: {
    steps: [
      { lower: 80, change: 1 },
      { upper: 20, change: -1 },
    ],
  },
  schedule: { windows: [{ cron: '0 9 * * *', duration: '8h', min: 2 }] },
  hpa: {},
  kpa: {},
  predictive: {},
  slo: { slo_ms: 250 },
};

for (const name of BUILTIN_NAMES) {
  test(`contract: builtin:${name} answers a whole non-negative count for every observation and never throws`, () => {
    const policy = loadBuiltin(name, MINIMAL_PARAMS[name] ?? {});
    assert.equal(policy.name, `builtin:${name}`);
    assert.ok(policy.source && policy.source.length > 0);
    const state: Record<string, unknown> = {};
    let now = Date.UTC(2026, 0, 5, 10);
    for (const obs of HOSTILE_OBSERVATIONS) {
      for (let i = 0; i < 3; i++) {
        const out = policy.evaluate(testContext(obs, { now, state }));
        now += 1000;
        assert.ok(out.ok, `${name} failed on ${JSON.stringify(obs)}: ${!out.ok && out.error}`);
        assert.ok(
          Number.isInteger(out.replicas) && out.replicas >= 0 && out.replicas < 1e9,
          `${name}: ${out.replicas} for ${JSON.stringify(obs)}`,
        );
        assert.ok(Array.isArray(out.logs) && Array.isArray(out.alerts));
        assert.doesNotThrow(() => JSON.stringify(out));
        if (out.state) Object.assign(state, out.state);
      }
    }
  });

  policyContract(`builtin:${name}`, () => loadBuiltin(name, MINIMAL_PARAMS[name] ?? {}), { alwaysOk: true });
}
