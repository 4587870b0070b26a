import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { contextFor } from './sandbox-fixtures.js';

// Regression: get_metric("startup_s") before any startup was measured reported
// 'unknown metric' (a log line on the first call only), although docs/policies.md lists it; the
// example llm-slo.lua reads it, and the policy contract (same context twice, same outcome) failed.
test('get_metric("startup_s") and ("draining") are known: nil when absent, the value when present, no log', async () => {
  const policy = await loadLuaPolicy({
    source: 'log(tostring(get_metric("startup_s")) .. "," .. tostring(get_metric("draining")))\nreturn 1',
    chunkName: 'startup.lua',
  });
  try {
    const absent = policy.evaluate(contextFor({}));
    assert.ok(absent.ok);
    assert.deepEqual(absent.logs, ['nil,0.0']);
    const present = policy.evaluate(contextFor({ startup_s: 95, draining: 2 }));
    assert.ok(present.ok);
    assert.deepEqual(present.logs, ['95.0,2.0']);
  } finally {
    policy.close?.();
  }
});
