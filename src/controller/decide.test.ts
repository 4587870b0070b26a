/** Table-driven tests for stages 1–5 of decide() (and defaultBehavior); stages 6–10 are in decide-holds.test.ts, timelines in decide-timeline.test.ts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyHistory, type PolicyOutcome } from '../policy/policy.js';
import { decide, defaultBehavior, withinTolerance } from './decide.js';
import { loadLuaPolicy } from '../sandbox/index.js';
import { initialDecisionState, type DecisionState } from './decision.js';
import { constant, fakePolicy, obs, plainBehavior, specOf } from '../../test/helpers/decide-fixtures.js';

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
    const { decision, state: next } = decide(specOf(p, { max: 5 }), {
      observation: obs(7),
      history: emptyHistory,
      state: state({ paused: true }),
      now: T0,
    });
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
      const { decision } = decide(spec, {
        observation: obs(2),
        history: emptyHistory,
        state: state({ override: { replicas, until } }),
        now,
      });
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
      assert.equal(p.calls, reason === 'ManualOverride' ? 0 : 1);
    });
  }

  test('an expired override is cleared from the returned state, and an active one is kept', () => {
    const spec = specOf(constant(3), { behavior: plainBehavior() });
    const expired = decide(spec, {
      observation: obs(2),
      history: emptyHistory,
      state: state({ override: { replicas: 6, until: T0 } }),
      now: T0 + 1,
    });
    assert.equal(expired.state.override, null);
    const active = decide(spec, {
      observation: obs(2),
      history: emptyHistory,
      state: state({ override: { replicas: 6, until: T0 + 5 } }),
      now: T0 + 1,
    });
    assert.deepEqual(active.state.override, { replicas: 6, until: T0 + 5 });
  });

  test('an override change is recorded for the rate limits', () => {
    const spec = specOf(constant(3), { behavior: plainBehavior() });
    const { state: next } = decide(spec, {
      observation: obs(2),
      history: emptyHistory,
      state: state({ override: { replicas: 6, until: null } }),
      now: T0,
    });
    assert.deepEqual(next.changes, [{ t: T0, from: 2, to: 6 }]);
    assert.equal(next.lastChangeAt, T0);
  });
});

describe('stage 2: missing metrics', () => {
  test('fresh === false keeps the count with NoData and does not call the policy', () => {
    const p = constant(1);
    const { decision } = decide(specOf(p), {
      observation: obs(5, { fresh: false }),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.replicas, 5);
    assert.equal(decision.reason, 'NoData');
    assert.equal(p.calls, 0);
  });

  test('NoData still enforces max (the HPA checks bounds before metrics)', () => {
    const { decision } = decide(specOf(constant(1), { max: 4 }), {
      observation: obs(5, { fresh: false }),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
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
      const { decision, state: next } = decide(specOf(fakePolicy(fn)), {
        observation: obs(4),
        history: emptyHistory,
        state: state({ policyState: before }),
        now: T0,
      });
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
    decide(spec, {
      observation: obs(3, { cpu: 42 }),
      history: emptyHistory,
      state: state({ policyState: { n: 7 } }),
      now: T0,
    });
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
    assert.deepEqual(
      decide(specOf(withState), { observation: obs(2), history: emptyHistory, state: state(), now: T0 }).state
        .policyState,
      {
        a: 1,
      },
    );
    const mutating = fakePolicy((ctx) => {
      ctx.state.count = ((ctx.state.count as number) ?? 0) + 1;
      (ctx.state.list as number[] | undefined)?.push(1);
      return 2;
    });
    const input = state({ policyState: { count: 1, list: [0] } });
    const { state: next } = decide(specOf(mutating), {
      observation: obs(2),
      history: emptyHistory,
      state: input,
      now: T0,
    });
    assert.deepEqual(next.policyState, { count: 2, list: [0, 1] });
    assert.deepEqual(input.policyState, { count: 1, list: [0] }, 'the input state is not mutated');
  });

  test('a Lua policy gets its own returned state back uncopied; after a failed call, the last good one', async () => {
    const policy = await loadLuaPolicy({
      source:
        'function decide(ctx)\n  ctx.state.n = (ctx.state.n or 0) + 1\n  if ctx.now == 3000 then error("boom") end\n  return ctx.replicas\nend\n',
      chunkName: 'count.lua',
    });
    try {
      assert.equal(policy.isolatesState, true);
      let s = state();
      const seen: unknown[] = [];
      for (let tick = 1; tick <= 4; tick++) {
        const input = s.policyState;
        const r = decide(specOf(policy), {
          observation: obs(2),
          history: emptyHistory,
          state: s,
          now: tick * 1000,
        });
        if (tick > 1) assert.equal(input, s.policyState, 'passed without a copy');
        s = r.state;
        seen.push(r.decision.policy.outcome.ok ? s.policyState.n : 'failed');
      }
      // tick 3 set n = 3 and failed: tick 4 must start again from the last good state, n = 2
      assert.deepEqual(seen, [1, 2, 'failed', 3]);
    } finally {
      policy.close();
    }
  });

  test('a fractional recommendation is rounded up, and 0 stays a plain 0', () => {
    const { decision } = decide(specOf(constant(3.2), { behavior: plainBehavior() }), {
      observation: obs(2),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.replicas, 4);
    const zero = decide(specOf(constant(0), { behavior: plainBehavior() }), {
      observation: obs(2),
      history: emptyHistory,
      state: state(),
      now: T0,
    }).decision;
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
    const a = decide(spec, { observation: o, history: emptyHistory, state: s, now: T0 });
    const b = decide(spec, { observation: o, history: emptyHistory, state: s, now: T0 });
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
    const { decision } = decide(specOf(p, { max: 10 }), {
      observation: obs(2),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.message, 'cpu 85% > target: 2 → 3 (policy)');
    assert.equal(decision.reason, 'ScaleUp');
    const { decision: limited } = decide(specOf(p, { max: 2 }), {
      observation: obs(2),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
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
      const { decision } = decide(spec, {
        observation: obs(current),
        history: emptyHistory,
        state: state(),
        now: T0,
      });
      assert.equal(decision.replicas, within ? current : rec);
      if (within) assert.equal(decision.reason, 'WithinTolerance');
    });
  }
});

describe('stage 5: panic', () => {
  const panicOn = (over: Partial<ReturnType<typeof plainBehavior>> = {}) =>
    plainBehavior({ panic: { enabled: true, threshold: 2, holdMs: 60_000 }, ...over });

  test('a recommendation of 2 × ready enters panic until now + hold', () => {
    const { decision, state: next } = decide(specOf(constant(8), { behavior: panicOn() }), {
      observation: obs(4),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.mode, 'panic');
    assert.equal(decision.replicas, 8);
    assert.equal(decision.reason, 'PanicScaleUp');
    assert.equal(next.panicUntil, T0 + 60_000);
  });

  test('below the threshold stays stable', () => {
    const { decision, state: next } = decide(specOf(constant(7), { behavior: panicOn() }), {
      observation: obs(4),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.mode, 'stable');
    assert.equal(decision.reason, 'ScaleUp');
    assert.equal(next.panicUntil, null);
  });

  test('the threshold is measured against max(1, ready), not against starting instances', () => {
    // 4 replicas of which 3 are starting: ready = 1, so 2 already panics.
    const { decision } = decide(specOf(constant(4), { behavior: panicOn() }), {
      observation: obs(4, { starting: 3 }),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.mode, 'panic');
    const fromZero = decide(specOf(constant(2), { behavior: panicOn() }), {
      observation: obs(0),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(fromZero.decision.mode, 'panic');
  });

  test('in panic a lower recommendation does not scale down (PanicHold)', () => {
    const s = state({ panicUntil: T0 + 30_000 });
    const { decision, state: next } = decide(specOf(constant(3), { behavior: panicOn() }), {
      observation: obs(8),
      history: emptyHistory,
      state: s,
      now: T0,
    });
    assert.equal(decision.replicas, 8);
    assert.equal(decision.reason, 'PanicHold');
    assert.equal(next.panicUntil, T0 + 30_000, 'a non-trigger does not extend the hold');
  });

  test('panic ends only after panicUntil has passed (Knative: panicTime + window Before now)', () => {
    const s = state({ panicUntil: T0 });
    const at = decide(specOf(constant(3), { behavior: panicOn() }), {
      observation: obs(8),
      history: emptyHistory,
      state: s,
      now: T0,
    });
    assert.equal(at.decision.mode, 'panic');
    const after = decide(specOf(constant(3), { behavior: panicOn() }), {
      observation: obs(8),
      history: emptyHistory,
      state: s,
      now: T0 + 1,
    });
    assert.equal(after.decision.mode, 'stable');
    assert.equal(after.decision.replicas, 3);
    assert.equal(after.state.panicUntil, null);
  });

  test('panic skips the scale-up stabilization window', () => {
    const b = panicOn({ scaleUp: { stabilizationMs: 60_000, rules: [], select: 'max' } });
    const s = state({ recommendations: [{ t: T0 - 10_000, replicas: 4 }] });
    const stable = decide(specOf(constant(7), { behavior: b }), {
      observation: obs(4),
      history: emptyHistory,
      state: s,
      now: T0,
    });
    assert.equal(stable.decision.replicas, 4, 'stable mode: the lowest recent recommendation wins');
    assert.equal(stable.decision.reason, 'ScaleUpStabilized');
    const panic = decide(specOf(constant(9), { behavior: panicOn({ scaleUp: b.scaleUp }) }), {
      observation: obs(4),
      history: emptyHistory,
      state: s,
      now: T0,
    });
    assert.equal(panic.decision.replicas, 9);
    assert.equal(panic.decision.reason, 'PanicScaleUp');
  });

  test('disabled panic never enters panic', () => {
    const { decision } = decide(specOf(constant(50), { behavior: plainBehavior() }), {
      observation: obs(2),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.mode, 'stable');
  });
});
