// Step adjustments as in the AWS user guide example: a CPU alarm at 50 % with steps
// [0, 10) +0, [10, 20) +10 %, [20, ∞) +30 % (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStep, matchStep, step, type StepAdjustment } from './step.js';
import { testContext } from '../../../test/helpers/policy-context.js';

const awsExample: StepAdjustment[] = [
  { lower: 0, upper: 10, change: 0, type: 'percent' },
  { lower: 10, upper: 20, change: 10, type: 'percent' },
  { lower: 20, upper: Infinity, change: 30, type: 'percent' },
];

test('matchStep: bounds are relative to the threshold, lower inclusive above it', () => {
  assert.equal(matchStep(awsExample, 55, 50), awsExample[0]);
  assert.equal(matchStep(awsExample, 60, 50), awsExample[1]);
  assert.equal(matchStep(awsExample, 70, 50), awsExample[2]);
  assert.equal(matchStep(awsExample, 40, 50), undefined);
});

test('matchStep: below the threshold the upper bound is inclusive', () => {
  const down: StepAdjustment[] = [{ lower: -Infinity, upper: 0, change: -1, type: 'change' }];
  assert.equal(matchStep(down, 30, 30), undefined, 'exactly at the threshold is the upper side');
  assert.equal(matchStep(down, 29, 30), down[0]);
});

test('applyStep: the AWS guide example, 10 instances: +10 % → 11, +30 % → 13', () => {
  assert.equal(applyStep(awsExample[1]!, 10), 11);
  assert.equal(applyStep(awsExample[2]!, 10), 13);
});

test('applyStep: percent rounding follows AWS (|x| < 1 → ±1, else toward zero) and min magnitude', () => {
  assert.equal(applyStep({ lower: 0, upper: 1, change: 10, type: 'percent' }, 3), 4);
  assert.equal(applyStep({ lower: 0, upper: 1, change: -10, type: 'percent' }, 3), 2);
  assert.equal(applyStep({ lower: 0, upper: 1, change: 25, type: 'percent' }, 10), 12);
  assert.equal(applyStep({ lower: 0, upper: 1, change: 25, type: 'percent' }, 10, 5), 15);
  assert.equal(applyStep({ lower: 0, upper: 1, change: 7, type: 'exact' }, 10), 7);
});

test('step policy adds or removes capacity and keeps it when no step matches', () => {
  const p = step({
    metric: 'cpu',
    threshold: 0,
    steps: [
      { lower: 80, change: 2 },
      { upper: 20, change: -1 },
    ],
  });
  const up = p.evaluate(testContext({ cpu: 90, replicas: 4, ready: 4 }));
  const mid = p.evaluate(testContext({ cpu: 50, replicas: 4, ready: 4 }));
  const down = p.evaluate(testContext({ cpu: 10, replicas: 4, ready: 4 }));
  assert.deepEqual([up.ok && up.replicas, mid.ok && mid.replicas, down.ok && down.replicas], [6, 4, 3]);
});

test('step params: overlapping ranges, a missing change and an empty list are rejected', () => {
  assert.throws(
    () =>
      step({
        steps: [
          { lower: 0, upper: 20, change: 1 },
          { lower: 10, change: 2 },
        ],
      }),
    /ranges overlap/,
  );
  assert.throws(() => step({ steps: [{ lower: 0 }] }), /steps\[0\]\.change: required/);
  assert.throws(() => step({ steps: [] }), /steps: expected a non-empty list/);
  assert.throws(
    () => step({ steps: [{ lower: 5, upper: 1, change: 1 }] }),
    /lower \(5\) must be < upper \(1\)/,
  );
});
