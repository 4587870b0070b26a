/**
 * Table-driven tests for the stages of decide() after the policy and panic: stabilization
 * windows, per-period change limits, cooldown, starting instances, bounds, and the state it
 * keeps. Stages 1–5 are in decide.test.ts; timelines in decide-timeline.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyHistory } from '../policy/policy.js';
import { decide, defaultBehavior, rememberRecommendation, scaleDownLimit, scaleUpLimit } from './decide.js';
import { initialDecisionState, type DecisionState, type DirectionBehavior } from './decision.js';
import { constant, obs, plainBehavior, specOf } from '../../test/helpers/decide-fixtures.js';

const T0 = 1_000_000;

function state(over: Partial<DecisionState> = {}): DecisionState {
  return { ...initialDecisionState(), ...over };
}

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
      const { decision } = decide(spec, {
        observation: obs(current),
        history: emptyHistory,
        state: s,
        now: T0,
      });
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
    const { state: next } = decide(spec, { observation: obs(5), history: emptyHistory, state: s, now: T0 });
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
    const upD = decide(specOf(constant(40), { behavior: b }), {
      observation: obs(2),
      history: emptyHistory,
      state: state(),
      now: T0,
    }).decision;
    assert.equal(upD.replicas, 6);
    assert.equal(upD.reason, 'ScaleUpLimited');
    assert.match(upD.message, /limited to 6/);
    const downD = decide(specOf(constant(10), { behavior: b }), {
      observation: obs(80),
      history: emptyHistory,
      state: state(),
      now: T0,
    }).decision;
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
      const { decision } = decide(specOf(constant(rec), { behavior: b }), {
        observation: obs(4),
        history: emptyHistory,
        state: s,
        now: T0,
      });
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
    });
  }

  test('a panic scale-up bypasses the cooldown', () => {
    const pb = plainBehavior({ cooldownMs: 30_000, panic: { enabled: true, threshold: 2, holdMs: 60_000 } });
    const { decision } = decide(specOf(constant(9), { behavior: pb }), {
      observation: obs(4),
      history: emptyHistory,
      state: state({ lastChangeAt: T0 - 1000 }),
      now: T0,
    });
    assert.equal(decision.replicas, 9);
    assert.equal(decision.reason, 'PanicScaleUp');
  });
});

describe('stage 9: starting instances', () => {
  test('no scale-down while instances are starting (AwaitingStartup)', () => {
    const { decision } = decide(specOf(constant(2), { behavior: plainBehavior() }), {
      observation: obs(5, { starting: 2 }),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.replicas, 5);
    assert.equal(decision.reason, 'AwaitingStartup');
    assert.match(decision.message, /2 starting, kept 5/);
  });

  test('starting instances count as capacity: a recommendation ≤ current launches nothing', () => {
    // 2 ready + 3 starting; a ready-based policy wants 5 in total: nothing more to launch.
    const { decision } = decide(specOf(constant(5), { behavior: plainBehavior() }), {
      observation: obs(5, { starting: 3 }),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
    assert.equal(decision.replicas, 5);
    assert.equal(decision.reason, 'NoChange');
  });

  test('a scale-up beyond the starting capacity still happens', () => {
    const { decision } = decide(specOf(constant(7), { behavior: plainBehavior() }), {
      observation: obs(5, { starting: 3 }),
      history: emptyHistory,
      state: state(),
      now: T0,
    });
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
      const { decision } = decide(specOf(constant(rec), { min: 2, max: 10, behavior: plainBehavior() }), {
        observation: obs(current),
        history: emptyHistory,
        state: state(),
        now: T0,
      });
      assert.equal(decision.replicas, want);
      assert.equal(decision.reason, reason);
    });
  }

  test('bounds apply after every hold: a cooldown cannot keep the count above max', () => {
    const { decision } = decide(
      specOf(constant(12), { min: 2, max: 10, behavior: plainBehavior({ cooldownMs: 60_000 }) }),
      { observation: obs(12), history: emptyHistory, state: state({ lastChangeAt: T0 - 1 }), now: T0 },
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
    const { state: next } = decide(spec, { observation: obs(4), history: emptyHistory, state: s, now: T0 });
    assert.deepEqual(next.changes, [
      { t: T0 - 5_000, from: 4, to: 4 },
      { t: T0, from: 4, to: 6 },
    ]);
    assert.equal(next.lastChangeAt, T0);
  });

  test('no change leaves lastChangeAt alone', () => {
    const { state: next } = decide(specOf(constant(4)), {
      observation: obs(4),
      history: emptyHistory,
      state: state({ lastChangeAt: 5 }),
      now: T0,
    });
    assert.equal(next.lastChangeAt, 5);
    assert.deepEqual(next.changes, []);
  });
});
