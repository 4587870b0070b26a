/**
 * Timeline tests for decide() on a manual clock (Knative's timeline-test style): advance `now`,
 * feed observations, check the sequence of replica counts and reasons.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock.js';
import type { PolicyContext } from '../policy/policy.js';
import { defaultBehavior } from './decide.js';
import { initialDecisionState, type Behavior } from './decision.js';
import { Driver, constant, fakePolicy, plainBehavior, specOf } from '../../test/helpers/decide-fixtures.js';

const S = 1000;

/** A policy whose recommendation is read from a mutable cell: the test "changes the load". */
function dial(initial: number) {
  const cell = { value: initial };
  const policy = fakePolicy(() => cell.value, 'dial');
  return { cell, policy };
}

describe('HPA worked examples', () => {
  test('default scale-down: the highest recommendation of the last 300 s wins, then it drops', () => {
    // kubernetes.io HPA docs, "Stabilization window": with the default 300 s window the
    // controller scales down only to the highest recommendation made in the last 5 minutes.
    const clock = new ManualClock(0);
    const { cell, policy } = dial(10);
    const d = new Driver(specOf(policy, { min: 1, max: 20, behavior: defaultBehavior() }), 10);
    const seen: Array<[number, number, string]> = [];
    d.tick(clock.now()); // t=0: 10 (recorded)
    cell.value = 4; // load drops
    for (let i = 0; i < 22; i++) {
      clock.advance(15 * S); // 15 s HPA sync period
      const dec = d.tick(clock.now());
      seen.push([clock.now() / S, dec.replicas, dec.reason]);
    }
    // 10 stays until the t=0 recommendation leaves the window (t > now − 300 s fails at t = 300 s).
    for (const [t, r, reason] of seen) {
      if (t < 300) {
        assert.equal(r, 10, `t=${t}s`);
        assert.equal(reason, 'ScaleDownStabilized');
      }
    }
    const at300 = seen.find(([t]) => t === 300)!;
    assert.deepEqual(at300, [300, 4, 'ScaleDown']);
    assert.equal(seen[seen.length - 1]![1], 4);
  });

  test('default scale-down follows the recommendations down as each leaves the window', () => {
    const clock = new ManualClock(0);
    const { cell, policy } = dial(10);
    const d = new Driver(specOf(policy, { min: 1, max: 20, behavior: defaultBehavior() }), 10);
    const recs = [10, 8, 6, 4];
    const out: number[] = [];
    for (const r of recs) {
      cell.value = r;
      d.tick(clock.now());
      clock.advance(60 * S);
    }
    cell.value = 2;
    for (let t = 240; t <= 600; t += 60) {
      out.push(d.tick(t * S).replicas);
    }
    // The window at t (exclusive of t − 300) holds recs from t−240..t; the max steps down 10→8→6→4→2.
    assert.deepEqual(out, [10, 8, 6, 4, 2, 2, 2]);
  });

  test('default scale-up: +4 pods or +100 % per 15 s, whichever is larger', () => {
    // HPA default behaviour (kubernetes.io "Default Behavior"): scaleUp policies Pods 4 / 15 s and
    // Percent 100 / 15 s with selectPolicy Max. From 1 replica toward 50: 5, 10, 20, 40, 50.
    const clock = new ManualClock(0);
    const d = new Driver(specOf(constant(50), { min: 1, max: 100, behavior: defaultBehavior() }), 1);
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      counts.push(d.tick(clock.now()).replicas);
      clock.advance(15 * S);
    }
    assert.deepEqual(counts, [5, 10, 20, 40, 50, 50]);
    assert.equal(d.log[0]!.reason, 'ScaleUpLimited');
    assert.equal(d.log[4]!.reason, 'PanicScaleUp');
  });

  test('the rate limit counts from the start of the period: faster ticks do not scale faster', () => {
    const clock = new ManualClock(0);
    const d = new Driver(specOf(constant(50), { min: 1, max: 100, behavior: defaultBehavior() }), 1);
    const counts: number[] = [];
    for (let i = 0; i <= 6; i++) {
      counts.push(d.tick(clock.now()).replicas);
      clock.advance(5 * S);
    }
    // t=0 → 5; t=5,10: the period started at 1, so the limit stays max(1+4, 2) = 5; t=15 → 10.
    assert.deepEqual(counts, [5, 5, 5, 10, 10, 10, 20]);
    assert.equal(d.log[1]!.reason, 'ScaleUpLimited');
  });

  test('scale-down policies example: 80 → 10 with Pods 4 / 60 s and Percent 10 / 60 s', () => {
    // kubernetes.io HPA docs, "Scaling Policies": 8 removed first, then 72 → 64 (7.2 rounded up to
    // 8), and once at or below 40 replicas the Pods policy removes 4 at a time.
    const behavior: Behavior = plainBehavior({
      scaleDown: {
        stabilizationMs: 0,
        rules: [
          { type: 'pods', value: 4, periodMs: 60 * S },
          { type: 'percent', value: 10, periodMs: 60 * S },
        ],
        select: 'max',
      },
    });
    const d = new Driver(specOf(constant(10), { min: 1, max: 100, behavior }), 80);
    const counts: number[] = [];
    for (let t = 0; counts[counts.length - 1] !== 10 && t < 60 * 60; t += 60)
      counts.push(d.tick(t * S).replicas);
    assert.deepEqual(counts.slice(0, 3), [72, 64, 57]);
    const at40 = counts.indexOf(40);
    assert.ok(at40 > 0);
    for (let i = at40 + 1; i < counts.length - 1; i++)
      assert.equal(counts[i - 1]! - counts[i]!, 4, `step ${i}: ${counts}`);
    assert.equal(counts[counts.length - 1], 10);
  });
});

describe('panic timeline', () => {
  test('a burst enters panic, holds the count for the hold after the last trigger, then stabilizes down', () => {
    const behavior = plainBehavior({
      scaleDown: { stabilizationMs: 20 * S, rules: [], select: 'max' },
      panic: { enabled: true, threshold: 2, holdMs: 60 * S },
    });
    const { cell, policy } = dial(4);
    const d = new Driver(specOf(policy, { min: 1, max: 50, behavior }), 4);
    const trace: string[] = [];
    const at = (t: number) => {
      const dec = d.tick(t * S);
      trace.push(`${t}:${dec.replicas}:${dec.mode}:${dec.reason}`);
      return dec;
    };
    at(0);
    cell.value = 12; // burst: 12 ≥ 2 × 4
    assert.equal(at(2).reason, 'PanicScaleUp');
    assert.equal(at(4).replicas, 12);
    cell.value = 30; // still bursting at t=10: extends the hold to 70 s
    at(10);
    cell.value = 5; // burst over
    for (let t = 12; t <= 70; t += 2) {
      const dec = at(t);
      assert.equal(dec.replicas, 30, `t=${t}: ${trace.join(' ')}`);
      assert.equal(dec.mode, 'panic');
      assert.equal(dec.reason, 'PanicHold');
    }
    const out = at(72);
    assert.equal(out.mode, 'stable');
    // Back in stable mode the 20 s down window has only seen 5s: straight to 5.
    assert.equal(out.replicas, 5, trace.join(' '));
    assert.equal(d.state.panicUntil, null);
  });

  test('without panic the same burst waits for the up window', () => {
    const behavior = plainBehavior({ scaleUp: { stabilizationMs: 30 * S, rules: [], select: 'max' } });
    const { cell, policy } = dial(4);
    const d = new Driver(specOf(policy, { min: 1, max: 50, behavior }), 4);
    d.tick(0);
    cell.value = 12;
    assert.equal(d.tick(2 * S).replicas, 4);
    assert.equal(d.tick(28 * S).replicas, 4);
    assert.equal(d.tick(30 * S).replicas, 12); // the t=0 recommendation of 4 has left the window
  });
});

describe('cooldown timeline', () => {
  test('after a change nothing moves for the cooldown, then the next change happens', () => {
    const { cell, policy } = dial(3);
    const d = new Driver(
      specOf(policy, { min: 1, max: 20, behavior: plainBehavior({ cooldownMs: 30 * S }) }),
      2,
    );
    const seq: Array<[number, string]> = [];
    const tick = (t: number) => {
      const dec = d.tick(t * S);
      seq.push([dec.replicas, dec.reason]);
    };
    tick(0); // 2 → 3
    cell.value = 6;
    tick(10);
    tick(29);
    tick(30); // cooldown over: 3 → 6
    cell.value = 1;
    tick(45); // cooldown from t=30
    tick(60); // 6 → 1
    assert.deepEqual(seq, [
      [3, 'ScaleUp'],
      [3, 'Cooldown'],
      [3, 'Cooldown'],
      [6, 'ScaleUp'],
      [6, 'Cooldown'],
      [1, 'ScaleDown'],
    ]);
  });
});

describe('override timeline', () => {
  test('an override holds its count until it expires, then the policy takes over and it is cleared', () => {
    const p = constant(3);
    const state = { ...initialDecisionState(), override: { replicas: 8, until: 60 * S } };
    const d = new Driver(specOf(p, { min: 1, max: 20, behavior: plainBehavior() }), 2, state);
    const seq: Array<[number, string]> = [];
    for (const t of [0, 30, 59, 60, 61]) {
      const dec = d.tick(t * S);
      seq.push([dec.replicas, dec.reason]);
    }
    assert.deepEqual(seq, [
      [8, 'ManualOverride'],
      [8, 'ManualOverride'],
      [8, 'ManualOverride'],
      [3, 'ScaleDown'],
      [3, 'NoChange'],
    ]);
    assert.equal(d.state.override, null);
    assert.equal(p.calls, 2);
  });
});

describe('policy error timeline', () => {
  test('a failing policy keeps the count and its state; the next tick tries again', () => {
    let mode: 'ok' | 'fail' = 'ok';
    const p = fakePolicy((ctx: PolicyContext) => {
      if (mode === 'fail')
        return {
          ok: false,
          code: 'LS_ERR_POLICY_RUNTIME',
          error: 'policies/p.lua:3: boom',
          logs: ['before boom'],
          alerts: [],
        };
      const n = ((ctx.state.n as number) ?? 0) + 1;
      return { ok: true, replicas: 3 + n, raw: 3 + n, state: { n }, logs: [], alerts: [] };
    });
    const d = new Driver(specOf(p, { min: 1, max: 20, behavior: plainBehavior() }), 3);
    assert.equal(d.tick(0).replicas, 4);
    mode = 'fail';
    const e1 = d.tick(1 * S);
    const e2 = d.tick(2 * S);
    assert.deepEqual([e1.replicas, e1.reason, e2.replicas, e2.reason], [4, 'PolicyError', 4, 'PolicyError']);
    assert.match(e1.message, /policies\/p\.lua:3: boom/);
    assert.deepEqual(e1.policy.outcome.logs, ['before boom']);
    assert.deepEqual(d.state.policyState, { n: 1 });
    mode = 'ok';
    assert.equal(d.tick(3 * S).replicas, 5); // n = 2: the state from before the errors
  });

  test('missing metrics hold the count (no scale-down on missing data), then decisions resume', () => {
    const d = new Driver(specOf(constant(1), { min: 1, max: 20, behavior: plainBehavior() }), 6);
    assert.deepEqual([d.tick(0, { fresh: false }).reason, d.replicas], ['NoData', 6]);
    assert.deepEqual([d.tick(1 * S, { fresh: false }).reason, d.replicas], ['NoData', 6]);
    assert.deepEqual([d.tick(2 * S).reason, d.replicas], ['ScaleDown', 1]);
  });
});

describe('slow starters', () => {
  /**
   * A provider model: launched instances are "starting" for `startupMs`, then ready; scale-down
   * removes instances immediately. The service needs `need` instances (load / target).
   */
  function run(
    policyOf: (need: number) => ReturnType<typeof fakePolicy>,
    startupMs: number,
    seconds: number,
  ) {
    const need = 6;
    const policy = policyOf(need);
    const spec = specOf(policy, { min: 1, max: 50, behavior: defaultBehavior() });
    let instances: number[] = [0, 0]; // ready-at times of each live instance
    let state = initialDecisionState();
    let peak = 0;
    const d = new Driver(spec, 2, state);
    for (let t = 0; t <= seconds * S; t += S) {
      const ready = instances.filter((r) => r <= t).length;
      const starting = instances.length - ready;
      d.replicas = instances.length;
      const dec = d.tick(t, { ready, starting, cpu: ready ? Math.min(100, (need * 70) / ready) : 0 });
      if (dec.replicas > instances.length)
        instances = [...instances, ...Array(dec.replicas - instances.length).fill(t + startupMs)];
      else if (dec.replicas < instances.length) instances = instances.slice(0, dec.replicas);
      peak = Math.max(peak, instances.length);
      state = d.state;
    }
    return { peak, final: instances.length, log: d.log };
  }

  test('regression knative/serving#13284, kubernetes/kubernetes#72775: 30 s starters are not launched again and again', () => {
    // A ready-based target-tracking policy: desired = ceil(ready × cpu / 70). While new instances
    // start, the ready ones stay hot, but the recommendation never exceeds what is already coming,
    // so nothing more is launched; the count settles at the need without overshoot.
    const tracking = () =>
      fakePolicy((ctx) =>
        ctx.observation.ready
          ? Math.ceil((ctx.observation.ready * (ctx.observation.cpu ?? 0)) / 70 - 1e-9)
          : ctx.observation.replicas,
      );
    const { peak, final } = run(tracking, 30 * S, 180);
    assert.equal(final, 6);
    assert.ok(peak <= 6, `peak ${peak} overshoots the need of 6`);
  });

  test('a step policy that steps from ready adds one instance per startup, not one per tick', () => {
    // The seed's rule, "cpu > 80 → one more". Stepping from `ready` (AWS warm-up: a step in flight
    // counts as taken) converges on the need; stepping from `replicas` keeps adding while the
    // ready instances stay hot, bounded only by the rate limits. See docs/decisions.md.
    const stepFrom = (base: 'ready' | 'replicas') => () =>
      fakePolicy((ctx) => {
        const o = ctx.observation;
        const cpu = o.cpu ?? 0;
        return cpu > 80 ? o[base] + 1 : cpu < 20 ? o[base] - 1 : o.replicas;
      });
    const fromReady = run(stepFrom('ready'), 30 * S, 240);
    assert.equal(fromReady.final, 6);
    assert.equal(fromReady.peak, 6);
    const fromReplicas = run(stepFrom('replicas'), 30 * S, 240);
    assert.ok(fromReplicas.peak > 6, `stepping from replicas overshoots (peak ${fromReplicas.peak})`);
  });

  test('no scale-down while instances are starting, even when the ready ones look idle', () => {
    const idle = fakePolicy(() => 1);
    const d = new Driver(specOf(idle, { min: 1, max: 10, behavior: plainBehavior() }), 4);
    const dec = d.tick(0, { ready: 1, starting: 3, cpu: 5 });
    assert.equal(dec.replicas, 4);
    assert.equal(dec.reason, 'AwaitingStartup');
    assert.equal(d.tick(S, { ready: 4, starting: 0, cpu: 5 }).replicas, 1);
  });
});
