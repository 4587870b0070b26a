/**
 * Decisions are values (house style §3): the replica count plus every reason that shaped it.
 * The admin API, the event log, the dashboard and the simulator show this value as it is.
 */
import type { Observation, Policy, PolicyOutcome } from '../policy/policy.js';

/** Stable PascalCase reason codes. Add here, document in docs/policies.md. */
export type ReasonCode =
  | 'ScaleUp'
  | 'ScaleDown'
  | 'NoChange'
  | 'WithinTolerance'
  | 'ScaleUpStabilized'
  | 'ScaleDownStabilized'
  | 'ScaleUpLimited'
  | 'ScaleDownLimited'
  | 'Cooldown'
  | 'PanicScaleUp'
  | 'PanicHold'
  | 'ClampedToMax'
  | 'ClampedToMin'
  | 'AwaitingStartup'
  | 'PolicyError'
  | 'NoData'
  | 'ManualOverride'
  | 'Paused';

/** One stage of the pipeline that changed (or held) the recommendation. */
export interface DecisionStep {
  stage:
    | 'policy'
    | 'tolerance'
    | 'panic'
    | 'stabilization'
    | 'rate-limit'
    | 'cooldown'
    | 'startup'
    | 'bounds'
    | 'override'
    | 'paused';
  from: number;
  to: number;
  reason: ReasonCode;
  note: string;
}

/** The result of one tick for one service. */
export interface Decision {
  service: string;
  /** Tick time (decision clock, ms). */
  at: number;
  /** Replicas before the decision (starting + ready). */
  current: number;
  /** Replicas after the decision: what the actuator should converge to. */
  replicas: number;
  reason: ReasonCode;
  message: string;
  mode: 'stable' | 'panic';
  inputs: Observation;
  /**
   * What the policy returned. When it was not called (Paused, ManualOverride, NoData) `evaluated`
   * is false and `outcome` is a placeholder recommending `current` with empty logs.
   */
  policy: { name: string; outcome: PolicyOutcome; evaluated?: boolean };
  /** Every clamp or window that changed (or held) the result, in pipeline order. */
  steps: DecisionStep[];
}

/** A per-period change limit, HPA `behavior.*.policies` (Pods or Percent per periodSeconds). */
export interface RateLimitRule {
  type: 'pods' | 'percent';
  value: number;
  periodMs: number;
}

/** Per-direction behaviour: HPA `HPAScalingRules`. */
export interface DirectionBehavior {
  /** Window over which the most conservative recommendation wins (up: lowest, down: highest). */
  stabilizationMs: number;
  rules: RateLimitRule[];
  /** Which rule wins when several apply: HPA `selectPolicy` (Max, Min, Disabled). */
  select: 'max' | 'min' | 'disabled';
}

/** Scaling behaviour, normalised to milliseconds. */
export interface Behavior {
  scaleUp: DirectionBehavior;
  scaleDown: DirectionBehavior;
  /** Relative band around the current count in which no change happens (HPA: 0.1). */
  tolerance: number;
  /** After a change, no further change for this long (AWS simple scaling); 0 = off. */
  cooldownMs: number;
  /** Knative-style panic: enter when the recommendation reaches `threshold` × ready; hold `holdMs`. */
  panic: { enabled: boolean; threshold: number; holdMs: number };
}

/** What the decision core needs to know about one service. */
export interface ScalingSpec {
  service: string;
  min: number;
  max: number;
  intervalMs: number;
  behavior: Behavior;
  policy: Policy;
  params: Readonly<Record<string, unknown>>;
}

/** Serialisable state carried from one tick to the next (and stored across restarts). */
export interface DecisionState {
  /**
   * Policy recommendations with their times, for the stabilization windows; compacted to the
   * entries that can still be a window's min or max (see `rememberRecommendation` in decide.ts).
   */
  recommendations: Array<{ t: number; replicas: number }>;
  /** Replica changes with their times, for the per-period rate limits. */
  changes: Array<{ t: number; from: number; to: number }>;
  lastChangeAt: number | null;
  /** In panic until this time (ms); null when stable. */
  panicUntil: number | null;
  /** `ctx.state` of the policy. */
  policyState: Record<string, unknown>;
  /** A manual override: a fixed count, until a time or forever. */
  override: { replicas: number; until: number | null } | null;
  paused: boolean;
}

/** The state of a service that has never been decided on. */
export function initialDecisionState(): DecisionState {
  return {
    recommendations: [],
    changes: [],
    lastChangeAt: null,
    panicUntil: null,
    policyState: {},
    override: null,
    paused: false,
  };
}
