/** Table-driven tests for each stage of decide(). Timelines live in decide-timeline.test.ts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyHistory, type PolicyOutcome } from '../policy/policy.js';
import {
  decide,
  defaultBehavior,
  rememberRecommendation,
  scaleDownLimit,
  scaleUpLimit,
  withinTolerance,
} from './decide.js';
import { initialDecisionState, type DecisionState, type DirectionBehavior } from './decision.js';
import { constant, fakePolicy, obs, plainBehavior, specOf } from './decide-fixtures.test.js';

const T0 = 1_000_000;

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function state(over: Partial<DecisionState> = {}): DecisionState {
  return { ...initialDecisionState(), ...over };
}

describe('defaultBehavior', () => {
  test('carries the HPA v2 defaults, tolerance 0.1, no cooldown and panic at 2x for 60 s', () => {
    const b = defaultBehavior();
    assert.deepEqual(b.scaleUp, {
      stabilizationMs: 0,
      rules: [
        { type: 'pods', value: 4, periodMs: 15_000 },
        { type: 'percent', value: 100, periodMs: 15_000 },
      ],
      select: 'max',
    });
    assert.deepEqual(b.scaleDown, {
      stabilizationMs: 300_000,
      rules: [{ type: 'percent', value: 100, periodMs: 15_000 }],
      select: 'max',
    });
    assert.equal(b.tolerance, 0.1);
    assert.equal(b.cooldownMs, 0);
    assert.deepEqual(b.panic, { enabled: true, threshold: 2, holdMs: 60_000 });
  });

  test('returns a fresh object each call', () => {
    const a = defaultBehavior();
    a.scaleUp.rules.length = 0;
    assert.equal(defaultBehavior().scaleUp.rules.length, 2);
  });
});

describe('stage 1: paused and manual override', () => {
  test('paused keeps the current count, even out of bounds, and does not call the policy', () => {
    const p = constant(9);
    const { decision, state: next } = decide(
      specOf(p, { max: 5 }),
      obs(7),
      emptyHistory,
      state({ paused: true }),
      T0,
    );
    assert.equal(decision.replicas, 7);
    assert.equal(decision.reason, 'Paused');
    assert.equal(p.calls, 0);
    assert.equal(decision.policy.evaluated, false);
    assert.deepEqual(next.changes, []);
  });

  const overrides: Array<[string, number, number | null, number, number, string]> = [
    // name, override replicas, until, now, expected replicas, expected reason
    ['an active override sets its count', 6, T0 + 10, T0, 6, 'ManualOverride'],
    ['an override without end stays', 6, null, T0 + 1e9, 6, 'ManualOverride'],
    ['an override above max is clamped to max', 50, null, T0, 10, 'ManualOverride'],
    ['an override below min is clamped to min', 0, null, T0, 2, 'ManualOverride'],
    ['an expired override is ignored (until is exclusive)', 6, T0, T0, 3, 'ScaleUp'],
  ];
  for (const [name, replicas, until, now, want, reason] of overrides) {
    test(name, () => {
      const p = constant(3);
      const spec = specOf(p, { min: 2, max: 10, behavior: plainBehavior() });
      const { decision } = decide(spec, obs(2), emptyHistory, state({ override: { replicas, until } }), now);
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
      assert.equal(p.calls, reason === 'ManualOverride' ? 0 : 1);
    });
  }

  test('an expired override is cleared from the returned state, and an active one is kept', () => {
    const spec = specOf(constant(3), { behavior: plainBehavior() });
    const expired = decide(
      spec,
      obs(2),
      emptyHistory,
      state({ override: { replicas: 6, until: T0 } }),
      T0 + 1,
    );
    assert.equal(expired.state.override, null);
    const active = decide(
      spec,
      obs(2),
      emptyHistory,
      state({ override: { replicas: 6, until: T0 + 5 } }),
      T0 + 1,
    );
    assert.deepEqual(active.state.override, { replicas: 6, until: T0 + 5 });
  });

  test('an override change is recorded for the rate limits', () => {
    const spec = specOf(constant(3), { behavior: plainBehavior() });
    const { state: next } = decide(
      spec,
      obs(2),
      emptyHistory,
      state({ override: { replicas: 6, until: null } }),
      T0,
    );
    assert.deepEqual(next.changes, [{ t: T0, from: 2, to: 6 }]);
    assert.equal(next.lastChangeAt, T0);
  });
});

describe('stage 2: missing metrics', () => {
  test('fresh === false keeps the count with NoData and does not call the policy', () => {
    const p = constant(1);
    const { decision } = decide(specOf(p), obs(5, { fresh: false }), emptyHistory, state(), T0);
    assert.equal(decision.replicas, 5);
    assert.equal(decision.reason, 'NoData');
    assert.equal(p.calls, 0);
  });

  test('NoData still enforces max (the HPA checks bounds before metrics)', () => {
    const { decision } = decide(
      specOf(constant(1), { max: 4 }),
      obs(5, { fresh: false }),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.replicas, 4);
    assert.equal(decision.reason, 'NoData');
    assert.ok(decision.steps.some((s) => s.reason === 'ClampedToMax'));
    assert.match(decision.message, /clamped to max 4/);
  });
});

describe('stage 3: the policy', () => {
  const failing: Array<[string, () => PolicyOutcome | number, RegExp]> = [
    [
      'an ok:false outcome',
      () => ({
        ok: false,
        code: 'LS_ERR_POLICY_RUNTIME',
        error: 'policies/cpu.lua:7: attempt to index a nil value',
        logs: [],
        alerts: [],
      }),
      /policies\/cpu\.lua:7: attempt to index a nil value/,
    ],
    [
      'a thrown error',
      () => {
        throw new Error('boom');
      },
      /fake: boom/,
    ],
    ['a NaN recommendation', () => NaN, /bad result.*NaN/],
    ['a negative recommendation', () => -1, /bad result.*-1/],
    ['an infinite recommendation', () => Infinity, /bad result.*Infinity/],
  ];
  for (const [name, fn, message] of failing) {
    test(`${name} keeps the count with PolicyError and the error in the message`, () => {
      const before = { keep: 1 };
      const { decision, state: next } = decide(
        specOf(fakePolicy(fn)),
        obs(4),
        emptyHistory,
        state({ policyState: before }),
        T0,
      );
      assert.equal(decision.replicas, 4);
      assert.equal(decision.reason, 'PolicyError');
      assert.match(decision.message, message);
      assert.equal(decision.policy.outcome.ok, false);
      assert.deepEqual(next.policyState, { keep: 1 }, 'the previous policy state survives a failed call');
    });
  }

  test('the policy sees spec, observation, params, history, a copy of its state and now', () => {
    const seen: unknown[] = [];
    const p = fakePolicy((ctx) => {
      seen.push([
        ctx.service,
        ctx.min,
        ctx.max,
        ctx.now,
        ctx.observation.cpu,
        ctx.params.target,
        ctx.state.n,
        ctx.history,
      ]);
      return 3;
    });
    const spec = specOf(p, { min: 1, max: 9, params: { target: 60 } });
    decide(spec, obs(3, { cpu: 42 }), emptyHistory, state({ policyState: { n: 7 } }), T0);
    assert.deepEqual(seen, [['svc', 1, 9, T0, 42, 60, 7, emptyHistory]]);
  });

  test('outcome.state becomes the new policy state; without it the mutated ctx.state is kept', () => {
    const withState = fakePolicy(() => ({
      ok: true,
      replicas: 2,
      raw: 2,
      state: { a: 1 },
      logs: [],
      alerts: [],
    }));
    assert.deepEqual(decide(specOf(withState), obs(2), emptyHistory, state(), T0).state.policyState, {
      a: 1,
    });
    const mutating = fakePolicy((ctx) => {
      ctx.state.count = ((ctx.state.count as number) ?? 0) + 1;
      (ctx.state.list as number[] | undefined)?.push(1);
      return 2;
    });
    const input = state({ policyState: { count: 1, list: [0] } });
    const { state: next } = decide(specOf(mutating), obs(2), emptyHistory, input, T0);
    assert.deepEqual(next.policyState, { count: 2, list: [0, 1] });
    assert.deepEqual(input.policyState, { count: 1, list: [0] }, 'the input state is not mutated');
  });

  test('a fractional recommendation is rounded up, and 0 stays a plain 0', () => {
    const { decision } = decide(
      specOf(constant(3.2), { behavior: plainBehavior() }),
      obs(2),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.replicas, 4);
    const zero = decide(
      specOf(constant(0), { behavior: plainBehavior() }),
      obs(2),
      emptyHistory,
      state(),
      T0,
    ).decision;
    assert.ok(Object.is(zero.replicas, 0));
    assert.ok(Object.is(zero.steps[0]!.to, 0));
  });

  test('decide is pure: frozen inputs, same answer twice', () => {
    const spec = deepFreeze(specOf(constant(8)));
    const o = deepFreeze(obs(4, { starting: 1 }));
    const s = deepFreeze(
      state({
        recommendations: [{ t: T0 - 1000, replicas: 5 }],
        changes: [{ t: T0 - 1000, from: 3, to: 4 }],
        lastChangeAt: T0 - 1000,
        policyState: { nested: { a: [1] } },
      }),
    );
    const a = decide(spec, o, emptyHistory, s, T0);
    const b = decide(spec, o, emptyHistory, s, T0);
    assert.deepEqual(a, b);
  });

  test('the message reads as a sentence: policy reason, counts, and each stage that acted', () => {
    const p = fakePolicy(() => ({
      ok: true,
      replicas: 3,
      reason: 'cpu 85% > target',
      raw: 3,
      logs: [],
      alerts: [],
    }));
    const { decision } = decide(specOf(p, { max: 10 }), obs(2), emptyHistory, state(), T0);
    assert.equal(decision.message, 'cpu 85% > target: 2 → 3 (policy)');
    assert.equal(decision.reason, 'ScaleUp');
    const { decision: limited } = decide(specOf(p, { max: 2 }), obs(2), emptyHistory, state(), T0);
    assert.equal(limited.message, 'cpu 85% > target: 2 → 3 (policy), clamped to max 2');
    assert.equal(limited.reason, 'ClampedToMax');
  });
});

describe('stage 4: tolerance', () => {
  const rows: Array<[number, number, number, boolean]> = [
    // current, recommended, tolerance, within?
    [10, 10, 0.1, false], // no change at all: nothing to hold
    [2, 3, 0.1, false], // a one-replica step always passes (50 %)
    [10, 11, 0.1, false],
    [20, 21, 0.1, false], // one-replica step at 5 %: still passes (else step policies freeze)
    [20, 22, 0.1, true], // 10 % → held (HPA isWithin is inclusive)
    [30, 33, 0.1, true],
    [30, 34, 0.1, false],
    [100, 90, 0.1, true],
    [100, 89, 0.1, false],
    [0, 3, 0.1, false], // from zero the tolerance is skipped (HPA)
    [100, 95, 0, false], // tolerance 0 = off
    [40, 36, 0.1, true],
  ];
  for (const [current, rec, tol, within] of rows) {
    test(`${current} → ${rec} at tolerance ${tol} is ${within ? 'held' : 'allowed'}`, () => {
      assert.equal(withinTolerance(current, rec, tol), within);
      const spec = specOf(constant(rec), { behavior: plainBehavior({ tolerance: tol }) });
      const { decision } = decide(spec, obs(current), emptyHistory, state(), T0);
      assert.equal(decision.replicas, within ? current : rec);
      if (within) assert.equal(decision.reason, 'WithinTolerance');
    });
  }
});

describe('stage 5: panic', () => {
  const panicOn = (over: Partial<ReturnType<typeof plainBehavior>> = {}) =>
    plainBehavior({ panic: { enabled: true, threshold: 2, holdMs: 60_000 }, ...over });

  test('a recommendation of 2 × ready enters panic until now + hold', () => {
    const { decision, state: next } = decide(
      specOf(constant(8), { behavior: panicOn() }),
      obs(4),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.mode, 'panic');
    assert.equal(decision.replicas, 8);
    assert.equal(decision.reason, 'PanicScaleUp');
    assert.equal(next.panicUntil, T0 + 60_000);
  });

  test('below the threshold stays stable', () => {
    const { decision, state: next } = decide(
      specOf(constant(7), { behavior: panicOn() }),
      obs(4),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.mode, 'stable');
    assert.equal(decision.reason, 'ScaleUp');
    assert.equal(next.panicUntil, null);
  });

  test('the threshold is measured against max(1, ready), not against starting instances', () => {
    // 4 replicas of which 3 are starting: ready = 1, so 2 already panics.
    const { decision } = decide(
      specOf(constant(4), { behavior: panicOn() }),
      obs(4, { starting: 3 }),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.mode, 'panic');
    const fromZero = decide(specOf(constant(2), { behavior: panicOn() }), obs(0), emptyHistory, state(), T0);
    assert.equal(fromZero.decision.mode, 'panic');
  });

  test('in panic a lower recommendation does not scale down (PanicHold)', () => {
    const s = state({ panicUntil: T0 + 30_000 });
    const { decision, state: next } = decide(
      specOf(constant(3), { behavior: panicOn() }),
      obs(8),
      emptyHistory,
      s,
      T0,
    );
    assert.equal(decision.replicas, 8);
    assert.equal(decision.reason, 'PanicHold');
    assert.equal(next.panicUntil, T0 + 30_000, 'a non-trigger does not extend the hold');
  });

  test('panic ends only after panicUntil has passed (Knative: panicTime + window Before now)', () => {
    const s = state({ panicUntil: T0 });
    const at = decide(specOf(constant(3), { behavior: panicOn() }), obs(8), emptyHistory, s, T0);
    assert.equal(at.decision.mode, 'panic');
    const after = decide(specOf(constant(3), { behavior: panicOn() }), obs(8), emptyHistory, s, T0 + 1);
    assert.equal(after.decision.mode, 'stable');
    assert.equal(after.decision.replicas, 3);
    assert.equal(after.state.panicUntil, null);
  });

  test('panic skips the scale-up stabilization window', () => {
    const b = panicOn({ scaleUp: { stabilizationMs: 60_000, rules: [], select: 'max' } });
    const s = state({ recommendations: [{ t: T0 - 10_000, replicas: 4 }] });
    const stable = decide(specOf(constant(7), { behavior: b }), obs(4), emptyHistory, s, T0);
    assert.equal(stable.decision.replicas, 4, 'stable mode: the lowest recent recommendation wins');
    assert.equal(stable.decision.reason, 'ScaleUpStabilized');
    const panic = decide(
      specOf(constant(9), { behavior: panicOn({ scaleUp: b.scaleUp }) }),
      obs(4),
      emptyHistory,
      s,
      T0,
    );
    assert.equal(panic.decision.replicas, 9);
    assert.equal(panic.decision.reason, 'PanicScaleUp');
  });

  test('disabled panic never enters panic', () => {
    const { decision } = decide(
      specOf(constant(50), { behavior: plainBehavior() }),
      obs(2),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.mode, 'stable');
  });
});

describe('stage 6: stabilization windows', () => {
  const up60: DirectionBehavior = { stabilizationMs: 60_000, rules: [], select: 'max' };
  const down300: DirectionBehavior = { stabilizationMs: 300_000, rules: [], select: 'max' };
  const rows: Array<[string, number, number, Array<[number, number]>, number, string]> = [
    // name, current, recommendation, history [age ms, replicas], want, reason
    [
      'down: the highest recommendation in the window wins',
      10,
      4,
      [
        [100_000, 8],
        [50_000, 6],
      ],
      8,
      'ScaleDownStabilized',
    ],
    [
      'down: recommendations older than the window are ignored',
      10,
      4,
      [
        [300_000, 9],
        [50_000, 6],
      ],
      6,
      'ScaleDownStabilized',
    ],
    ['down: never above current', 10, 4, [[10_000, 12]], 10, 'ScaleDownStabilized'],
    ['down: nothing higher in the window scales straight down', 10, 4, [[10_000, 3]], 4, 'ScaleDown'],
    [
      'up: the lowest recommendation in the up window wins',
      4,
      10,
      [
        [30_000, 6],
        [10_000, 8],
      ],
      6,
      'ScaleUpStabilized',
    ],
    ['up: never below current', 4, 10, [[30_000, 2]], 4, 'ScaleUpStabilized'],
    ['up: older than the up window is ignored', 4, 10, [[61_000, 2]], 10, 'ScaleUp'],
  ];
  for (const [name, current, rec, hist, want, reason] of rows) {
    test(name, () => {
      const spec = specOf(constant(rec), { behavior: plainBehavior({ scaleUp: up60, scaleDown: down300 }) });
      const s = state({ recommendations: hist.map(([age, replicas]) => ({ t: T0 - age, replicas })) });
      const { decision } = decide(spec, obs(current), emptyHistory, s, T0);
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
    });
  }

  test('the compacted history gives the same min and max as the full history for every window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 12 })), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.integer({ min: 1, max: 300_000 }),
        (steps, longest) => {
          let t = 0;
          let compact: Array<{ t: number; replicas: number }> = [];
          const full: Array<{ t: number; replicas: number }> = [];
          for (const [dt, v] of steps) {
            t += dt;
            compact = rememberRecommendation(compact, v, t, longest);
            full.push({ t, replicas: v });
          }
          for (const w of [0, 1, Math.min(1000, longest), Math.min(15_000, longest), longest >> 1, longest]) {
            const inFull = full.filter((r) => r.t > t - w || r.t === t).map((r) => r.replicas);
            const inCompact = compact.filter((r) => r.t > t - w || r.t === t).map((r) => r.replicas);
            assert.equal(Math.max(...inCompact), Math.max(...inFull), `max, window ${w}`);
            assert.equal(Math.min(...inCompact), Math.min(...inFull), `min, window ${w}`);
          }
          assert.ok(compact.length <= full.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a steady recommendation keeps a single entry', () => {
    let recs: Array<{ t: number; replicas: number }> = [];
    for (let t = 0; t < 600_000; t += 1000) recs = rememberRecommendation(recs, 5, t, 300_000);
    assert.deepEqual(recs, [{ t: 599_000, replicas: 5 }]);
  });

  test('recommendations older than the longest window are pruned, equal runs keep the newest time', () => {
    const spec = specOf(constant(5), { behavior: plainBehavior({ scaleUp: up60, scaleDown: down300 }) });
    const s = state({
      recommendations: [
        { t: T0 - 400_000, replicas: 9 },
        { t: T0 - 200_000, replicas: 7 },
        { t: T0 - 100_000, replicas: 5 },
      ],
    });
    const { state: next } = decide(spec, obs(5), emptyHistory, s, T0);
    assert.deepEqual(next.recommendations, [
      { t: T0 - 200_000, replicas: 7 },
      { t: T0, replicas: 5 },
    ]);
  });
});

describe('stage 7: per-period change limits', () => {
  const up = (
    rules: DirectionBehavior['rules'],
    select: DirectionBehavior['select'] = 'max',
  ): DirectionBehavior => ({ stabilizationMs: 0, rules, select });
  const hpaUp = up([
    { type: 'pods', value: 4, periodMs: 15_000 },
    { type: 'percent', value: 100, periodMs: 15_000 },
  ]);
  const upRows: Array<[string, number, Array<[number, number, number]>, DirectionBehavior, number]> = [
    // name, current, changes [age, from, to], rules, limit
    ['HPA default from 1: max(1+4, 2) = 5', 1, [], hpaUp, 5],
    ['HPA default from 10: max(14, 20) = 20', 10, [], hpaUp, 20],
    ['changes within the period count from its start: 1→5 five seconds ago', 5, [[5_000, 1, 5]], hpaUp, 5],
    ['changes older than the period are forgotten', 5, [[15_000, 1, 5]], hpaUp, 10],
    ['select min takes the least permissive rule', 10, [], up(hpaUp.rules, 'min'), 14],
    ['disabled forbids scaling up', 3, [], up(hpaUp.rules, 'disabled'), 3],
    ['percent rounds up: 3 + 10 % = 4', 3, [], up([{ type: 'percent', value: 10, periodMs: 60_000 }]), 4],
    [
      'percent in integer arithmetic: 100 + 10 % = 110 (not 111)',
      100,
      [],
      up([{ type: 'percent', value: 10, periodMs: 60_000 }]),
      110,
    ],
    [
      'percent of zero is taken of one so it can leave zero',
      0,
      [],
      up([{ type: 'percent', value: 100, periodMs: 60_000 }]),
      2,
    ],
    [
      'a down change within the period raises the allowance',
      6,
      [[5_000, 8, 6]],
      up([{ type: 'pods', value: 2, periodMs: 60_000 }]),
      10,
    ],
  ];
  for (const [name, current, changes, rules, limit] of upRows) {
    test(`up: ${name}`, () => {
      assert.equal(
        scaleUpLimit(
          current,
          changes.map(([age, from, to]) => ({ t: T0 - age, from, to })),
          rules,
          T0,
        ),
        limit,
      );
    });
  }

  const down = (
    rules: DirectionBehavior['rules'],
    select: DirectionBehavior['select'] = 'max',
  ): DirectionBehavior => ({ stabilizationMs: 0, rules, select });
  const docsDown = down([
    { type: 'pods', value: 4, periodMs: 60_000 },
    { type: 'percent', value: 10, periodMs: 60_000 },
  ]);
  const downRows: Array<[string, number, Array<[number, number, number]>, DirectionBehavior, number]> = [
    ['HPA default 100 % allows 0', 10, [], down([{ type: 'percent', value: 100, periodMs: 15_000 }]), 0],
    ['docs: 80 replicas, 10 % vs 4 pods, max → 72', 80, [], docsDown, 72],
    ['docs: 72 replicas → 64 (7.2 rounds up to 8 removed)', 72, [], docsDown, 64],
    ['docs: at 40 or fewer the Pods rule wins: 36 → 32', 36, [], docsDown, 32],
    ['select min takes the smaller change', 80, [], down(docsDown.rules, 'min'), 76],
    ['disabled forbids scaling down', 8, [], down(docsDown.rules, 'disabled'), 8],
    ['a change within the period counts: 80→72 ten seconds ago', 72, [[10_000, 80, 72]], docsDown, 72],
  ];
  for (const [name, current, changes, rules, limit] of downRows) {
    test(`down: ${name}`, () => {
      assert.equal(
        scaleDownLimit(
          current,
          changes.map(([age, from, to]) => ({ t: T0 - age, from, to })),
          rules,
          T0,
        ),
        limit,
      );
    });
  }

  test('decide reports ScaleUpLimited and ScaleDownLimited', () => {
    const b = plainBehavior({ scaleUp: hpaUp, scaleDown: docsDown });
    const upD = decide(specOf(constant(40), { behavior: b }), obs(2), emptyHistory, state(), T0).decision;
    assert.equal(upD.replicas, 6);
    assert.equal(upD.reason, 'ScaleUpLimited');
    assert.match(upD.message, /limited to 6/);
    const downD = decide(specOf(constant(10), { behavior: b }), obs(80), emptyHistory, state(), T0).decision;
    assert.equal(downD.replicas, 72);
    assert.equal(downD.reason, 'ScaleDownLimited');
  });
});

describe('stage 8: cooldown', () => {
  const b = plainBehavior({ cooldownMs: 30_000 });
  const rows: Array<[string, number | null, number, number, string]> = [
    // name, lastChangeAt age, recommendation, want, reason (current is 4)
    ['within the cooldown a change is held', 10_000, 6, 4, 'Cooldown'],
    ['within the cooldown a scale-down is held too', 10_000, 2, 4, 'Cooldown'],
    ['after the cooldown the change happens', 30_000, 6, 6, 'ScaleUp'],
    ['with no previous change there is no cooldown', null, 6, 6, 'ScaleUp'],
  ];
  for (const [name, age, rec, want, reason] of rows) {
    test(name, () => {
      const s = state({ lastChangeAt: age === null ? null : T0 - age });
      const { decision } = decide(specOf(constant(rec), { behavior: b }), obs(4), emptyHistory, s, T0);
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
    });
  }

  test('a panic scale-up bypasses the cooldown', () => {
    const pb = plainBehavior({ cooldownMs: 30_000, panic: { enabled: true, threshold: 2, holdMs: 60_000 } });
    const { decision } = decide(
      specOf(constant(9), { behavior: pb }),
      obs(4),
      emptyHistory,
      state({ lastChangeAt: T0 - 1000 }),
      T0,
    );
    assert.equal(decision.replicas, 9);
    assert.equal(decision.reason, 'PanicScaleUp');
  });
});

describe('stage 9: starting instances', () => {
  test('no scale-down while instances are starting (AwaitingStartup)', () => {
    const { decision } = decide(
      specOf(constant(2), { behavior: plainBehavior() }),
      obs(5, { starting: 2 }),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.replicas, 5);
    assert.equal(decision.reason, 'AwaitingStartup');
    assert.match(decision.message, /2 starting, kept 5/);
  });

  test('starting instances count as capacity: a recommendation ≤ current launches nothing', () => {
    // 2 ready + 3 starting; a ready-based policy wants 5 in total: nothing more to launch.
    const { decision } = decide(
      specOf(constant(5), { behavior: plainBehavior() }),
      obs(5, { starting: 3 }),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.replicas, 5);
    assert.equal(decision.reason, 'NoChange');
  });

  test('a scale-up beyond the starting capacity still happens', () => {
    const { decision } = decide(
      specOf(constant(7), { behavior: plainBehavior() }),
      obs(5, { starting: 3 }),
      emptyHistory,
      state(),
      T0,
    );
    assert.equal(decision.replicas, 7);
  });
});

describe('stage 10: bounds', () => {
  const rows: Array<[number, number, number, string]> = [
    [12, 4, 10, 'ClampedToMax'],
    [0, 4, 2, 'ClampedToMin'],
    [5, 4, 5, 'ScaleUp'],
  ];
  for (const [rec, current, want, reason] of rows) {
    test(`recommendation ${rec} from ${current} within [2, 10] gives ${want} (${reason})`, () => {
      const { decision } = decide(
        specOf(constant(rec), { min: 2, max: 10, behavior: plainBehavior() }),
        obs(current),
        emptyHistory,
        state(),
        T0,
      );
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
    });
  }

  test('bounds apply after every hold: a cooldown cannot keep the count above max', () => {
    const { decision } = decide(
      specOf(constant(12), { min: 2, max: 10, behavior: plainBehavior({ cooldownMs: 60_000 }) }),
      obs(12),
      emptyHistory,
      state({ lastChangeAt: T0 - 1 }),
      T0,
    );
    assert.equal(decision.replicas, 10);
    assert.equal(decision.reason, 'ClampedToMax');
  });
});

describe('state bookkeeping', () => {
  test('a change is recorded with its time; old changes are pruned past the longest period', () => {
    const spec = specOf(constant(6), { behavior: defaultBehavior() });
    const s = state({
      changes: [
        { t: T0 - 20_000, from: 2, to: 4 },
        { t: T0 - 5_000, from: 4, to: 4 },
      ],
    });
    const { state: next } = decide(spec, obs(4), emptyHistory, s, T0);
    assert.deepEqual(next.changes, [
      { t: T0 - 5_000, from: 4, to: 4 },
      { t: T0, from: 4, to: 6 },
    ]);
    assert.equal(next.lastChangeAt, T0);
  });

  test('no change leaves lastChangeAt alone', () => {
    const { state: next } = decide(specOf(constant(4)), obs(4), emptyHistory, state({ lastChangeAt: 5 }), T0);
    assert.equal(next.lastChangeAt, 5);
    assert.deepEqual(next.changes, []);
  });
});
