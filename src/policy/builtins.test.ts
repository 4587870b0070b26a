// Loading built-ins by name. The shared Policy contract every built-in runs is in
// test/policy/builtins-contract.test.ts (with the Lua policy's in test/sandbox/lua-policy-contract.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_NAMES, loadBuiltin } from './builtins.js';
import { isLuascaleError } from '../core/errors.js';

test('BUILTIN_NAMES lists the built-ins of issue 2 §6 and slo', () => {
  for (const n of ['target-tracking', 'step', 'schedule', 'hpa', 'kpa', 'predictive', 'slo'])
    assert.ok(BUILTIN_NAMES.includes(n), n);
});

test('loadBuiltin rejects an unknown name listing the known ones', () => {
  assert.throws(
    () => loadBuiltin('hpa2', {}),
    (e: unknown) =>
      isLuascaleError(e, 'LS_ERR_POLICY_UNKNOWN_BUILTIN') &&
      /unknown built-in policy "hpa2" \(known: target-tracking, step, schedule, hpa, kpa, predictive, slo, llm-saturation, llm-slo, keda-llm-waiting\)/.test(
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
