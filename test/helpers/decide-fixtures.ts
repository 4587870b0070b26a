/**
 * Test doubles for decide(): an inline fake Policy (a test double of the Policy interface, no Lua)
 * and a tiny tick driver. Shared by src/controller/decide*.test.ts.
 */
import {
  completeObservation,
  emptyHistory,
  type Observation,
  type Policy,
  type PolicyContext,
  type PolicyOutcome,
} from '../../src/policy/policy.js';
import { decide, defaultBehavior } from '../../src/controller/decide.js';
import {
  initialDecisionState,
  type Behavior,
  type Decision,
  type DecisionState,
  type ScalingSpec,
} from '../../src/controller/decision.js';

/** A fake policy: `fn` maps the context to a count (or a full outcome); counts its calls. */
export function fakePolicy(
  fn: (ctx: PolicyContext) => number | PolicyOutcome,
  name = 'fake',
): Policy & { calls: number } {
  const p = {
    name,
    calls: 0,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      p.calls++;
      const r = fn(ctx);
      if (typeof r === 'number') return { ok: true, replicas: r, raw: r, logs: [], alerts: [] };
      return r;
    },
  };
  return p;
}

/** A policy that always recommends `n`. */
export function constant(n: number): Policy & { calls: number } {
  return fakePolicy(() => n, `const:${n}`);
}

/** A behaviour with everything off: no windows, no limits, no tolerance, no panic. */
export function plainBehavior(over: Partial<Behavior> = {}): Behavior {
  return {
    scaleUp: { stabilizationMs: 0, rules: [], select: 'max' },
    scaleDown: { stabilizationMs: 0, rules: [], select: 'max' },
    tolerance: 0,
    cooldownMs: 0,
    panic: { enabled: false, threshold: 2, holdMs: 60_000 },
    ...over,
  };
}

/** A spec around a policy. */
export function specOf(policy: Policy, over: Partial<ScalingSpec> = {}): ScalingSpec {
  return {
    service: 'svc',
    min: 0,
    max: 100,
    intervalMs: 1000,
    behavior: defaultBehavior(),
    policy,
    params: {},
    ...over,
  };
}

/** An observation with `replicas` ready instances (plus `starting`). */
export function obs(replicas: number, over: Partial<Observation> = {}): Observation {
  const starting = over.starting ?? 0;
  return completeObservation({ replicas, ready: replicas - starting, ...over });
}

/** Drives decide() tick by tick, keeping the state; the actuator converges instantly unless told. */
export class Driver {
  state: DecisionState;
  replicas: number;
  readonly log: Decision[] = [];
  constructor(
    readonly spec: ScalingSpec,
    start: number,
    state: DecisionState = initialDecisionState(),
  ) {
    this.state = state;
    this.replicas = start;
  }
  /** One tick at `now`; the observation defaults to `replicas` ready instances. */
  tick(now: number, over: Partial<Observation> = {}): Decision {
    const { decision, state } = decide(this.spec, {
      observation: obs(this.replicas, over),
      history: emptyHistory,
      state: this.state,
      now,
    });
    this.state = state;
    this.replicas = decision.replicas;
    this.log.push(decision);
    return decision;
  }
}
