// naturalSettings: a built-in with BUILTIN_BEHAVIOR hints runs under them in the simulator, as a
// service without its own `behavior` does; others keep luascale's defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { naturalSettings } from './simulation-policy.js';
import { hintedBehavior } from '../config/scaling-settings.js';
import { defaultBehavior } from '../controller/decide.js';

test('predictive runs without the 300 s scale-down window, the tolerance band and panic', () => {
  const b = naturalSettings('predictive').behavior;
  assert.equal(b.scaleDown.stabilizationMs, 0);
  assert.equal(b.tolerance, 0);
  assert.equal(b.panic.enabled, false);
  // rate limits are kept (the hint does not turn them off)
  assert.deepEqual(b.scaleUp.rules, defaultBehavior().scaleUp.rules);
  assert.equal(naturalSettings('predictive').intervalMs, 1_000);
});

test('built-ins without hints and Lua policies keep the core defaults', () => {
  assert.deepEqual(naturalSettings('target-tracking').behavior, defaultBehavior());
  assert.deepEqual(naturalSettings(undefined).behavior, defaultBehavior());
});

test('hintedBehavior with rateLimits false drops the per-period rules in both directions', () => {
  const b = hintedBehavior(defaultBehavior(), { rateLimits: false, scaleDownStabilizationMs: 5_000 });
  assert.deepEqual(b.scaleUp.rules, []);
  assert.deepEqual(b.scaleDown.rules, []);
  assert.equal(b.scaleDown.stabilizationMs, 5_000);
  assert.equal(b.tolerance, defaultBehavior().tolerance);
});
