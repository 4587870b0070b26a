/**
 * Issue 16 item 13: the default policy follows what the service can measure: CPU where the
 * provider reports usage, in-flight requests (per instance, Knative's default target) where it
 * does not, and "no data: hold" when it can measure neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load-config.js';
import { scalingFromConfig } from '../../src/config/scaling-settings.js';
import { loadBuiltin } from '../../src/policy/builtins.js';
import {
  completeObservation,
  emptyHistory,
  type Observation,
  type PolicyOutcome,
} from '../../src/policy/policy.js';

const config = (provider: string) =>
  parseConfig(`services:\n  web:\n    provider:\n      ${provider}\n`, 'luascale.yaml', {});

function defaultPolicyOf(provider: string) {
  const s = scalingFromConfig(config(provider), 'web', '/cfg');
  assert.ok('builtin' in s.policy);
  return loadBuiltin(s.policy.builtin, s.policy.params);
}

function run(provider: string, observation: Observation): PolicyOutcome {
  return defaultPolicyOf(provider).evaluate({
    service: 'web',
    now: 1_000_000,
    min: 1,
    max: 10,
    observation,
    params: {},
    state: {},
    history: emptyHistory,
  });
}

test('with usage (process provider) the default tracks CPU at 60 %', () => {
  const out = run('process: { command: ["node", "app.js"] }', completeObservation({ replicas: 2, cpu: 90 }));
  assert.ok(out.ok);
  assert.equal(out.replicas, 3); // ceil(2 × 90 / 60)
  assert.match(out.reason ?? '', /^cpu 90 vs target 60/);
});

test('without usage (static provider) the default tracks in-flight requests, 70 per instance', () => {
  const out = run(
    'static: { targets: ["http://127.0.0.1:9"] }',
    completeObservation({ replicas: 1, inflight: 210, rps: 400 }),
  );
  assert.ok(out.ok);
  assert.equal(out.replicas, 3, out.reason); // ceil(210 / 70), not a hold at 1 (nor 0 % CPU → min)
  assert.match(out.reason ?? '', /no cpu data; inflight 210 vs target 70/);
});

test('with neither value the default holds', () => {
  const policy = loadBuiltin('target-tracking', {
    metric: 'cpu',
    target: 60,
    fallback: { metric: 'queue_depth_x', target: 5 },
  });
  const out = policy.evaluate({
    service: 'web',
    now: 0,
    min: 1,
    max: 10,
    observation: completeObservation({ replicas: 4 }),
    params: {},
    state: {},
    history: emptyHistory,
  });
  assert.ok(out.ok);
  assert.equal(out.replicas, 4);
  assert.match(out.reason ?? '', /no cpu or queue_depth_x data: keep 4/);
});

test('a bad fallback is refused with the key named', () => {
  assert.throws(
    () =>
      loadBuiltin('target-tracking', {
        metric: 'cpu',
        target: 60,
        fallback: { metric: 'inflight', target: 0 },
      }),
    /fallback/,
  );
  assert.throws(() => loadBuiltin('target-tracking', { metric: 'cpu', target: 60, fallback: 3 }), /fallback/);
});
