import { test } from 'node:test';
import assert from 'node:assert/strict';
import { targetTracking, trackingReplicas } from './target-tracking.js';
import { testContext } from '../../../test/helpers/policy-context.js';
import { isLuascaleError } from '../../core/errors.js';

test('trackingReplicas: utilisation uses ready × value / target, totals value / target', () => {
  assert.equal(trackingReplicas('utilization', 85, 70, 2), 3);
  assert.equal(trackingReplicas('utilization', 35, 70, 4), 2);
  assert.equal(trackingReplicas('utilization', 70, 70, 4), 4);
  assert.equal(trackingReplicas('total', 1000, 70, 3), 15);
  assert.equal(trackingReplicas('total', 0, 70, 3), 0);
  assert.equal(trackingReplicas('utilization', 50, 70, 0), undefined);
});

test('target-tracking on cpu explains its answer in detail', () => {
  const out = targetTracking({ metric: 'cpu', target: 70 }).evaluate(
    testContext({ cpu: 85, replicas: 2, ready: 2 }),
  );
  assert.ok(out.ok);
  assert.equal(out.replicas, 3);
  assert.deepEqual(out.detail, { metric: 'cpu', value: 85, target: 70, ratio: 1.214, ready: 2 });
});

test('target-tracking on rps treats target as per instance', () => {
  const out = targetTracking({ metric: 'rps', target: 50 }).evaluate(
    testContext({ rps: 420, replicas: 2, ready: 2 }),
  );
  assert.ok(out.ok);
  assert.equal(out.replicas, 9);
});

test('target-tracking reads custom metrics and latency, and keeps the count when one is missing', () => {
  const p = targetTracking({ metric: 'jobs', target: 10 });
  const got = p.evaluate(testContext({ replicas: 2, ready: 2, metrics: { jobs: 55 } }));
  assert.ok(got.ok);
  assert.equal(got.replicas, 6);
  const missing = p.evaluate(testContext({ replicas: 2, ready: 2 }));
  assert.ok(missing.ok);
  assert.equal(missing.replicas, 2);
});

test('target-tracking params: rps needs a target; type must be known', () => {
  assert.throws(
    () => targetTracking({ metric: 'rps' }),
    (e: unknown) =>
      isLuascaleError(e, 'LS_ERR_POLICY_PARAMS') && /target: required/.test((e as Error).message),
  );
  assert.throws(
    () => targetTracking({ metric: 'cpu', type: 'avg' }),
    /type: expected one of utilization, total/,
  );
  assert.throws(() => targetTracking({ target: 0 }), /target: must be > 0/);
});
