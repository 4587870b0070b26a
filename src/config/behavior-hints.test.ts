// The live config path applies a built-in's BUILTIN_BEHAVIOR hints only where the service sets
// no `behavior` of its own (normaliseScaling's `behaviorExplicit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load-config.js';
import { scalingFromConfig } from './scaling-settings.js';

function scaling(section: string) {
  const text = `
services:
  api:
    provider:
      process: { command: ["node", "app.js"] }
    scaling:
${section
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;
  return scalingFromConfig(parseConfig(text, 'luascale.yaml', {}), 'api');
}

test('predictive without a behavior section runs under its hints: no 300 s window, no tolerance, no panic', () => {
  const s = scaling('policy: { builtin: predictive, params: { capacity: 100 } }');
  assert.equal(s.behaviorExplicit, false);
  assert.equal(s.behavior.scaleDown.stabilizationMs, 0);
  assert.equal(s.behavior.tolerance, 0);
  assert.equal(s.behavior.panic.enabled, false);
  assert.equal(s.behavior.scaleUp.rules.length, 2, 'rate limits kept');
});

test('a behavior the user set wins over the hints', () => {
  const s = scaling('policy: { builtin: predictive }\nbehavior:\n  scale_down: { stabilization: 120s }');
  assert.equal(s.behaviorExplicit, true);
  assert.equal(s.behavior.scaleDown.stabilizationMs, 120_000);
  assert.equal(s.behavior.tolerance, 0.1);
  assert.equal(s.behavior.panic.enabled, true);
});

test('policies without hints keep the HPA defaults', () => {
  const s = scaling('policy: { builtin: hpa }');
  assert.equal(s.behaviorExplicit, false);
  assert.equal(s.behavior.scaleDown.stabilizationMs, 300_000);
  assert.equal(s.behavior.tolerance, 0.1);
  const k = scaling('policy: { builtin: kpa }');
  assert.equal(k.behavior.scaleUp.rules.length, 0, 'kpa: no core rate limits');
  assert.equal(k.behavior.scaleDown.stabilizationMs, 0);
});
