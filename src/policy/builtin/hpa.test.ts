// Table tests for the hpa built-in. Cases come from the Kubernetes documentation
// (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details and
// the walkthrough .../horizontal-pod-autoscale-walkthrough/) and from
// kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator_test.go (named after them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hpa, hpaPodMetricReplicas, hpaTotalReplicas, type HpaPodMetricInput } from './hpa.js';
import { testContext } from '../../../test/helpers/policy-context.js';
import { isLuascaleError } from '../../core/errors.js';

const base: Omit<HpaPodMetricInput, 'current' | 'readyCount' | 'readyAvg' | 'target'> = {
  unready: 0,
  missing: 0,
  kind: 'utilization',
  toleranceUp: 0.1,
  toleranceDown: 0.1,
};

const cases: Array<{
  name: string;
  input: Partial<HpaPodMetricInput> &
    Pick<HpaPodMetricInput, 'current' | 'readyCount' | 'readyAvg' | 'target'>;
  want: number;
}> = [
  // docs, Algorithm details: "current metric value is 200m, and the desired value is 100m, the number of replicas will be doubled"
  {
    name: 'docs: 200m vs 100m doubles',
    input: { current: 3, readyCount: 3, readyAvg: 200, target: 100, kind: 'plain' },
    want: 6,
  },
  // docs: "If the current value is instead 50m, you'll halve the number of replicas"
  {
    name: 'docs: 50m vs 100m halves',
    input: { current: 4, readyCount: 4, readyAvg: 50, target: 100, kind: 'plain' },
    want: 2,
  },
  // docs: "skips any scaling action if the ratio is sufficiently close to 1.0 (within a configurable tolerance, 0.1 by default)"
  {
    name: 'docs: ratio 1.08 is within tolerance',
    input: { current: 5, readyCount: 5, readyAvg: 108, target: 100, kind: 'plain' },
    want: 5,
  },
  {
    name: 'ratio 0.92 is within tolerance',
    input: { current: 5, readyCount: 5, readyAvg: 92, target: 100 },
    want: 5,
  },
  // walkthrough: target 50 % CPU, load drives it to 305 % on one replica → 7 replicas (ceil(6.1))
  {
    name: 'walkthrough: 305 % vs 50 % on 1 replica → 7',
    input: { current: 1, readyCount: 1, readyAvg: 305, target: 50 },
    want: 7,
  },
  { name: 'TestReplicaCalcScaleUp', input: { current: 3, readyCount: 3, readyAvg: 50, target: 30 }, want: 5 },
  {
    name: 'TestReplicaCalcScaleUpUnreadyLessScale',
    input: { current: 3, readyCount: 2, readyAvg: 60, unready: 1, target: 30 },
    want: 4,
  },
  {
    name: 'TestReplicaCalcScaleUpUnreadyNoScale',
    input: { current: 3, readyCount: 1, readyAvg: 40, unready: 2, target: 30 },
    want: 3,
  },
  {
    name: 'TestReplicaCalcTolerance (102 % vs 100 %)',
    input: { current: 3, readyCount: 3, readyAvg: 102, target: 100 },
    want: 3,
  },
  {
    name: 'TestReplicaCalcMissingMetrics (scale-down fills 100 %)',
    input: { current: 4, readyCount: 2, readyAvg: 24.75, missing: 2, target: 100 },
    want: 3,
  },
  {
    name: 'TestReplicaCalcMissingMetricsNoChangeEq',
    input: { current: 2, readyCount: 1, readyAvg: 100, missing: 1, target: 100 },
    want: 2,
  },
  {
    name: 'TestReplicaCalcMissingMetricsNoChangeGt',
    input: { current: 2, readyCount: 1, readyAvg: 190, missing: 1, target: 100 },
    want: 2,
  },
  {
    name: 'TestReplicaCalcMissingMetricsNoChangeLt',
    input: { current: 2, readyCount: 1, readyAvg: 60, missing: 1, target: 100 },
    want: 2,
  },
  {
    name: 'TestReplicaCalcMissingMetricsUnreadyChange',
    input: { current: 3, readyCount: 1, readyAvg: 45, missing: 1, unready: 1, target: 50 },
    want: 3,
  },
  {
    name: 'TestReplicaCalcMissingMetricsUnreadyScaleUp',
    input: { current: 3, readyCount: 1, readyAvg: 200, missing: 1, unready: 1, target: 50 },
    want: 4,
  },
  {
    name: 'TestReplicaCalcMissingMetricsUnreadyScaleDown',
    input: { current: 4, readyCount: 2, readyAvg: 10, missing: 1, unready: 1, target: 50 },
    want: 3,
  },
  {
    name: 'TestReplicaCalcSuperfluousMetrics-like: 587 % vs 100 % on 4 → 24',
    input: { current: 4, readyCount: 4, readyAvg: 587.5, target: 100 },
    want: 24,
  },
];

for (const c of cases) {
  test(`hpaPodMetricReplicas: ${c.name}`, () => {
    const res = hpaPodMetricReplicas({ ...base, ...c.input });
    assert.ok(res);
    assert.equal(res.replicas, c.want);
  });
}

test('hpaPodMetricReplicas gives no answer without ready pods reporting', () => {
  assert.equal(
    hpaPodMetricReplicas({ ...base, current: 3, readyCount: 0, readyAvg: 0, target: 50 }),
    undefined,
  );
});

test('hpaTotalReplicas: TestReplicaCalcTolerancePerPodCMExternal (8600 vs 2900 per pod on 3) keeps 3', () => {
  assert.equal(hpaTotalReplicas(3, 8600, 2900, { toleranceUp: 0.1, toleranceDown: 0.1 }).replicas, 3);
});

test('hpaTotalReplicas scales a total to ceil(total / per-pod target)', () => {
  assert.equal(hpaTotalReplicas(2, 1000, 100, { toleranceUp: 0.1, toleranceDown: 0.1 }).replicas, 10);
  assert.equal(hpaTotalReplicas(0, 250, 100, { toleranceUp: 0.1, toleranceDown: 0.1 }).replicas, 3);
});

test('per-direction tolerance: a 5 % rise scales with tolerance_up 0.01 but not with the default', () => {
  const obs = { cpu: 73.5, replicas: 10, ready: 10 };
  assert.equal((hpa({ target: 70 }).evaluate(testContext(obs)) as { replicas: number }).replicas, 10);
  assert.equal(
    (hpa({ target: 70, tolerance_up: 0.01 }).evaluate(testContext(obs)) as { replicas: number }).replicas,
    11,
  );
});

test('hpa policy treats starting instances as 0 % on a scale-up', () => {
  const out = hpa({ metric: 'cpu', target: 30 }).evaluate(
    testContext({ cpu: 60, replicas: 3, ready: 2, starting: 1 }),
  );
  assert.ok(out.ok);
  assert.equal(out.replicas, 4);
  assert.equal(out.detail?.adjustedRatio, 1.333);
});

test('hpa policy with several metrics takes the largest proposal', () => {
  const p = hpa({
    metrics: [
      { metric: 'cpu', target: 50 },
      { metric: 'rps', target: 100 },
    ],
  });
  const out = p.evaluate(testContext({ cpu: 60, rps: 900, replicas: 4, ready: 4 }));
  assert.ok(out.ok);
  assert.equal(out.replicas, 9);
});

test('hpa policy does not scale down while a metric is invalid, but may scale up', () => {
  const p = hpa({
    metrics: [
      { metric: 'cpu', target: 50 },
      { metric: 'queue_depth', target: 10 },
    ],
  });
  const down = p.evaluate(testContext({ cpu: 10, replicas: 6, ready: 6 }));
  assert.ok(down.ok);
  assert.equal(down.replicas, 6);
  const up = p.evaluate(testContext({ cpu: 100, replicas: 6, ready: 6 }));
  assert.ok(up.ok);
  assert.equal(up.replicas, 12);
});

test('hpa policy keeps the count when the signals are stale', () => {
  const out = hpa({}).evaluate(testContext({ cpu: 100, replicas: 3, ready: 3, fresh: false }));
  assert.ok(out.ok);
  assert.equal(out.replicas, 3);
});

test('hpa params are validated with one clear line', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ target: -1 }, /builtin:hpa: bad params: target: must be > 0, got -1/],
    [{ target: 'x' }, /target: expected a number, got "x"/],
    [{ tolerance: 2 }, /tolerance: must be <= 1/],
    [{ metric: 'rps' }, /target: required/],
    [{ metrics: [] }, /metrics: expected a non-empty list/],
    [{ metrics: [{ metric: 'cpu' }] }, /metrics\[0\]\.target: required/],
    [{ tagret: 5 }, /tagret: unknown parameter/],
  ];
  for (const [params, re] of bad) {
    assert.throws(
      () => hpa(params),
      (err: unknown) => isLuascaleError(err, 'LS_ERR_POLICY_PARAMS') && re.test((err as Error).message),
      JSON.stringify(params),
    );
  }
});
