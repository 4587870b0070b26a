// The shared contract every built-in runs (house style: one suite for all implementations of an
// interface): it loads with defaults (or its minimal params), never throws from evaluate(), and
// always answers a whole, non-negative, finite count — even for hostile observations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_NAMES, loadBuiltin } from './builtins.js';
import { testContext } from './builtin/test-context.js';
import { isLuascaleError } from '../core/errors.js';
import type { Observation } from './policy.js';

const minimal: Record<string, Record<string, unknown>> = {
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

const hostile: Array<Partial<Observation>> = [
  {},
  { replicas: 0, ready: 0 },
  { cpu: NaN, rps: NaN, inflight: NaN, replicas: 3, ready: 3 },
  { cpu: Infinity, rps: 1e300, inflight: -5, replicas: 3, ready: 3 },
  { cpu: -10, rps: -1, replicas: 2, ready: 0, starting: 2 },
  { cpu: 50, rps: 100, replicas: 4, ready: 4, fresh: false },
  { cpu: 99, rps: 5000, inflight: 900, replicas: 1, ready: 1, latency: { p50: 1, p95: 2, p99: 3 } },
];

test('BUILTIN_NAMES lists the built-ins of issue 2 §6 and slo', () => {
  for (const n of ['target-tracking', 'step', 'schedule', 'hpa', 'kpa', 'predictive', 'slo'])
    assert.ok(BUILTIN_NAMES.includes(n), n);
});

for (const name of BUILTIN_NAMES) {
  test(`contract: builtin:${name} answers a whole non-negative count for every observation and never throws`, () => {
    const policy = loadBuiltin(name, minimal[name] ?? {});
    assert.equal(policy.name, `builtin:${name}`);
    assert.ok(policy.source && policy.source.length > 0);
    const state: Record<string, unknown> = {};
    let now = Date.UTC(2026, 0, 5, 10);
    for (const obs of hostile) {
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
}

test('loadBuiltin rejects an unknown name listing the known ones', () => {
  assert.throws(
    () => loadBuiltin('hpa2', {}),
    (e: unknown) =>
      isLuascaleError(e, 'LS_ERR_POLICY_UNKNOWN_BUILTIN') &&
      /unknown built-in policy "hpa2" \(known: target-tracking, step, schedule, hpa, kpa, predictive, slo\)/.test(
        (e as Error).message,
      ),
  );
  assert.throws(
    () => loadBuiltin('__proto__', {}),
    (e: unknown) => isLuascaleError(e, 'LS_ERR_POLICY_UNKNOWN_BUILTIN'),
  );
});

test('loadBuiltin rejects params that are not an object', () => {
  assert.throws(
    () => loadBuiltin('hpa', [] as unknown as Record<string, unknown>),
    (e: unknown) => isLuascaleError(e, 'LS_ERR_POLICY_PARAMS'),
  );
});
