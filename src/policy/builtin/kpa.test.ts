// Table and timeline tests for the kpa built-in. The cases reproduce
// knative/serving pkg/autoscaler/scaling/autoscaler_test.go (test names kept): its DeciderSpec uses
// PanicThreshold 2, MaxScaleUpRate 10, MaxScaleDownRate 10 and a 60 s stable window, and its
// metric client returns the revision-wide stable and panic averages directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kpa, kpaScale, type KpaPanicState, type KpaSpec } from './kpa.js';
import { arrayHistory, testContext } from '../../../test/helpers/policy-context.js';
import { isLuascaleError } from '../../core/errors.js';

const spec = (targetValue: number, over: Partial<KpaSpec> = {}): KpaSpec => ({
  targetValue,
  panicThreshold: 2,
  maxScaleUpRate: 10,
  maxScaleDownRate: 10,
  stableWindowMs: 60_000,
  ...over,
});
const calm: KpaPanicState = { panicTime: null, maxPanicPods: 0 };

const table: Array<{
  name: string;
  spec: KpaSpec;
  stable: number;
  panic: number;
  ready: number;
  prev?: KpaPanicState;
  want: number;
}> = [
  { name: 'AutoscalerStableModeNoChange', spec: spec(10), stable: 50, panic: 50, ready: 1, want: 5 },
  {
    name: 'AutoscalerStableModeNoChangeAlreadyScaled',
    spec: spec(10),
    stable: 50,
    panic: 50,
    ready: 5,
    want: 5,
  },
  {
    name: 'AutoscalerPanicStableLargerThanPanic',
    spec: spec(1),
    stable: 50,
    panic: 30,
    ready: 5,
    prev: { panicTime: -5000, maxPanicPods: 5 },
    want: 50,
  },
  {
    name: 'AutoscalerPanicStableLessThanPanic',
    spec: spec(1),
    stable: 20,
    panic: 30,
    ready: 5,
    prev: { panicTime: -5000, maxPanicPods: 5 },
    want: 30,
  },
  {
    name: 'AutoscalerStableModeIncreaseWithSmallScaleUpRate',
    spec: spec(1, { maxScaleUpRate: 1.1 }),
    stable: 3,
    panic: 3.1,
    ready: 2,
    want: 3,
  },
  {
    name: 'AutoscalerStableModeDecreaseWithSmallScaleDownRate',
    spec: spec(10, { maxScaleDownRate: 1.1 }),
    stable: 1,
    panic: 1,
    ready: 100,
    want: 90,
  },
  { name: 'AutoscalerPanicModeDoublePodCount', spec: spec(10), stable: 50, panic: 100, ready: 1, want: 10 },
  {
    name: 'TestAutoscalerStableModeIncreaseWithConcurrencyDefault',
    spec: spec(10),
    stable: 100,
    panic: 10,
    ready: 1,
    want: 10,
  },
  {
    name: 'TestAutoscalerStableModeDecrease (100 → 50 on 8 ready)',
    spec: spec(10),
    stable: 50,
    panic: 50,
    ready: 8,
    want: 5,
  },
  {
    name: 'TestAutoscalerRateLimitScaleUp: need 100, only ×10',
    spec: spec(10),
    stable: 1000,
    panic: 1001,
    ready: 1,
    want: 10,
  },
  {
    name: 'TestAutoscalerRateLimitScaleDown: need 1, only ÷10',
    spec: spec(10),
    stable: 1,
    panic: 1,
    ready: 100,
    want: 10,
  },
  {
    name: 'TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound',
    spec: spec(10),
    stable: 1000,
    panic: 888,
    ready: 0,
    want: 10,
  },
  {
    name: 'TestAutoscalerStableModeNoTrafficScaleToZero',
    spec: spec(10),
    stable: 0,
    panic: 0,
    ready: 1,
    want: 0,
  },
];

for (const c of table) {
  test(`kpaScale: ${c.name}`, () => {
    assert.equal(
      kpaScale(c.spec, { stableAvg: c.stable, panicAvg: c.panic, readyCount: c.ready }, c.prev ?? calm, 0)
        .desired,
      c.want,
    );
  });
}

test('kpaScale: TestAutoscalerUnpanicAfterSlowIncrease (panic holds, then ends after the stable window)', () => {
  const s = spec(1);
  let r = kpaScale(s, { stableAvg: 11, panicAvg: 25, readyCount: 10 }, calm, 0);
  assert.equal(r.desired, 25);
  assert.equal(r.state.panicTime, 0);
  r = kpaScale(s, { stableAvg: 30, panicAvg: 41, readyCount: 40 }, r.state, 30_000);
  assert.equal(r.desired, 41);
  assert.equal(r.state.panicTime, 0, 'panic time does not move below the threshold');
  r = kpaScale(s, { stableAvg: 50, panicAvg: 56, readyCount: 55 }, r.state, 62_000);
  assert.equal(r.desired, 50);
  assert.equal(r.panicking, false);
});

test('kpaScale: TestAutoscalerExtendPanicWindow (still over threshold re-arms panic)', () => {
  const s = spec(1);
  const r1 = kpaScale(s, { stableAvg: 11, panicAvg: 25, readyCount: 10 }, calm, 0);
  const r2 = kpaScale(s, { stableAvg: 30, panicAvg: 80, readyCount: 40 }, r1.state, 30_000);
  assert.equal(r2.desired, 80);
  assert.equal(r2.state.panicTime, 30_000);
});

test('kpaScale: TestAutoscalerPanicThenUnPanicScaleDown (never scales down in panic)', () => {
  const s = spec(10);
  let r = kpaScale(s, { stableAvg: 100, panicAvg: 100, readyCount: 1 }, calm, 0);
  assert.equal(r.desired, 10);
  r = kpaScale(s, { stableAvg: 100, panicAvg: 1000, readyCount: 10 }, r.state, 1000);
  assert.equal(r.desired, 100);
  r = kpaScale(s, { stableAvg: 1, panicAvg: 1, readyCount: 10 }, r.state, 31_000);
  assert.equal(r.desired, 100, 'traffic dropped, but still in panic');
  r = kpaScale(s, { stableAvg: 1, panicAvg: 1, readyCount: 10 }, r.state, 62_000);
  assert.equal(r.desired, 1);
});

test('kpa policy averages its own 1 s buckets: a 6 s burst panics, a 60 s lull scales down', () => {
  // target 10 × 70 % = 7 concurrent requests per pod
  const p = kpa({ target: 10 });
  const state: Record<string, unknown> = {};
  let replicas = 2;
  let now = 0;
  const tick = (inflight: number) => {
    const out = p.evaluate(testContext({ inflight, replicas, ready: replicas }, { now, state }));
    assert.ok(out.ok);
    Object.assign(state, out.state);
    now += 1000;
    return out;
  };
  // 60 s at 14 in flight: 2 pods; a new autoscaler with 2 ready starts in panic, which ends after 60 s
  for (let i = 0; i < 62; i++) tick(14);
  let out = tick(14);
  assert.equal(out.replicas, 2);
  assert.equal(out.detail?.mode, 'stable');
  // a burst to 70: the 6 s panic average crosses 2 × ready well before the 60 s one moves much
  for (let i = 0; i < 3; i++) out = tick(70);
  assert.equal(out.detail?.mode, 'panic');
  assert.ok(out.ok && out.replicas >= 6, `panic scale-up, got ${out.ok && out.replicas}`);
  replicas = out.ok ? out.replicas : replicas;
  const peak = replicas;
  // load falls: in panic the count never goes down
  for (let i = 0; i < 30; i++) out = tick(7);
  assert.ok(out.ok && out.replicas >= peak);
  // after a stable window without crossing the threshold, scale down (at most ÷2 per evaluation)
  for (let i = 0; i < 40; i++) out = tick(7);
  assert.equal(out.detail?.mode, 'stable');
  assert.ok(out.ok && out.replicas < peak && out.replicas >= Math.floor(peak / 2));
});

test('kpa policy on rps uses the rps target × utilisation', () => {
  const p = kpa({ metric: 'rps', target: 100 });
  const out = p.evaluate(testContext({ rps: 700, replicas: 1, ready: 1 }, { now: 0 }));
  assert.ok(out.ok);
  assert.equal(out.detail?.target, 70);
  assert.equal(out.replicas, 10);
});

test('kpa params are validated', () => {
  for (const [params, re] of [
    [{ metric: 'cpu' }, /metric: expected one of concurrency, rps/],
    [{ stable_window: '2s' }, /stable_window: must be within 6s\.\.1h/],
    [{ panic_threshold_percentage: 50 }, /panic_threshold_percentage: must be >= 110/],
    [{ max_scale_down_rate: 1 }, /max_scale_down_rate: must be > 1/],
    [{ target_utilization: 1.5 }, /target_utilization: must be <= 1/],
  ] as Array<[Record<string, unknown>, RegExp]>) {
    assert.throws(
      () => kpa(params),
      (err: unknown) => isLuascaleError(err, 'LS_ERR_POLICY_PARAMS') && re.test((err as Error).message),
    );
  }
});

test('kpa seeds its windows from ctx.history on its first evaluation (a restart keeps the averages)', () => {
  const p = kpa({ metric: 'rps', target: 100 });
  const idle = arrayHistory({ rps: new Array(60).fill(0) }, 60_000);
  const seeded = p.evaluate(testContext({ rps: 700, replicas: 1, ready: 1 }, { now: 60_000, history: idle }));
  const fresh = kpa({ metric: 'rps', target: 100 }).evaluate(
    testContext({ rps: 700, replicas: 1, ready: 1 }, { now: 60_000 }),
  );
  assert.ok(seeded.ok && fresh.ok);
  // 59 idle seconds + 700: stable ≈ 11.7 → 1 pod, panic (6 s) ≈ 116.7 → 2 pods and panic
  assert.equal(seeded.replicas, 2);
  assert.equal(seeded.detail?.mode, 'panic');
  assert.equal(fresh.replicas, 10);
});
