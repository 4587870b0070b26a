/**
 * How every exit of decide() ends a tick: the Decision value (inputs, policy outcome, steps) and
 * the state for the next tick, with the change history trimmed to the longest rule period and the
 * change recorded when the count moved. Pure, as decide() is.
 */
import type { Behavior, Decision, DecisionState, DecisionStep, ReasonCode, ScalingSpec } from './decision.js';
import type { Observation, PolicyOutcome } from '../policy/policy.js';

/** What one tick knew when it ended: the same for every exit of decide(). */
export interface Tick {
  spec: ScalingSpec;
  observation: Observation;
  /** The input state with an expired override dropped. */
  state: DecisionState;
  now: number;
  current: number;
  steps: DecisionStep[];
}

/** How one exit of decide() ends the tick. */
export interface Verdict {
  replicas: number;
  reason: ReasonCode;
  message: string;
  /** What the policy returned; a placeholder when it was not called. */
  outcome?: PolicyOutcome;
  /** Present when the policy was called: the state it updates (nothing when it failed). */
  evaluated?: Partial<Pick<DecisionState, 'recommendations' | 'panicUntil' | 'policyState'>>;
}

/** Builds the Decision and the state after it, recording a change when the count moves. */
export function finishDecision(tick: Tick, verdict: Verdict): { decision: Decision; state: DecisionState } {
  const { spec, observation, state, now, current, steps } = tick;
  const { replicas, reason, message, evaluated } = verdict;
  const outcome = verdict.outcome ?? placeholder(current);
  const longestPeriod = longestRulePeriod(spec.behavior);
  let changes = state.changes;
  if (changes.length && !(changes[0]!.t > now - longestPeriod))
    changes = changes.filter((c) => c.t > now - longestPeriod);
  let lastChangeAt = state.lastChangeAt;
  if (replicas !== current) {
    changes = [...changes, { t: now, from: current, to: replicas }];
    lastChangeAt = now;
  }
  const next: DecisionState =
    changes === state.changes && lastChangeAt === state.lastChangeAt && !evaluated
      ? state
      : { ...state, ...evaluated, changes, lastChangeAt };
  const mode = next.panicUntil !== null && now <= next.panicUntil ? 'panic' : 'stable';
  return {
    decision: {
      service: spec.service,
      at: now,
      current,
      replicas,
      reason,
      message,
      mode,
      inputs: observation,
      policy: { name: spec.policy.name, outcome, evaluated: evaluated !== undefined },
      steps,
    },
    state: next,
  };
}

function longestRulePeriod(b: Behavior): number {
  let longest = 0;
  for (const r of b.scaleUp.rules) if (r.periodMs > longest) longest = r.periodMs;
  for (const r of b.scaleDown.rules) if (r.periodMs > longest) longest = r.periodMs;
  return longest;
}

/** The outcome shown when the policy was not called. */
function placeholder(current: number): PolicyOutcome {
  return { ok: true, replicas: current, reason: 'not evaluated', raw: null, logs: [], alerts: [] };
}
