/**
 * What a simulation's decisions add up to, for `luascale simulate`'s explanation: how many
 * decisions ended with each reason, how often each stage of the decision core held or changed the
 * policy's answer (scale-downs held by stabilization, limited by the rate rules, kept within the
 * tolerance...), and the policy's errors: the first one and the most frequent, with counts.
 */
import type { Decision } from '../controller/decision.js';

/** One distinct policy error. */
export interface ErrorCount {
  /** The error as the policy reported it (file:line: message). */
  error: string;
  code: string;
  count: number;
  /** Simulated second of its first occurrence. */
  first_second: number;
}

/** The tally of one run. */
export interface DecisionExplanation {
  /** Decisions by final reason code. */
  reasons: Record<string, number>;
  /** Steps after the policy's answer by reason code: `ScaleDownStabilized` counts scale-downs the window held. */
  adjustments: Record<string, number>;
  /** The first policy error, or null. */
  first_error: ErrorCount | null;
  /** Distinct policy errors, most frequent first (at most 5). */
  errors: ErrorCount[];
  /** Distinct policy errors in all. */
  distinct_errors: number;
  /** Decisions where the policy failed. */
  policy_errors: number;
  /**
   * Runs of ticks where the scale-down window held a lower answer: `scaled_in` ended in a
   * scale-down (the window did its job), `abandoned` ended with the policy answering higher again
   * before the window passed (the "hold, sometimes −1" pattern abandons every run after one tick).
   */
  held_scale_downs: { scaled_in: number; abandoned: number };
}

/** Counts decisions as they are taken; `explanation()` gives the totals. */
export class DecisionTally {
  readonly #reasons = new Map<string, number>();
  readonly #adjustments = new Map<string, number>();
  readonly #errors = new Map<string, ErrorCount>();
  #first: ErrorCount | null = null;
  #streak = 0;
  readonly #held = { scaled_in: 0, abandoned: 0 };

  /** Adds one decision, taken at the end of simulated second `second`. */
  add(d: Decision, second: number): void {
    this.#reasons.set(d.reason, (this.#reasons.get(d.reason) ?? 0) + 1);
    for (const s of d.steps) {
      if (s.stage === 'policy') continue;
      this.#adjustments.set(s.reason, (this.#adjustments.get(s.reason) ?? 0) + 1);
    }
    if (d.steps.some((s) => s.reason === 'ScaleDownStabilized')) this.#streak++;
    else if (this.#streak > 0) {
      if (d.replicas < d.current) this.#held.scaled_in++;
      else this.#held.abandoned++;
      this.#streak = 0;
    }
    const o = d.policy.outcome;
    if (!o.ok) {
      let e = this.#errors.get(o.error);
      if (!e) {
        e = { error: o.error, code: o.code, count: 0, first_second: second };
        this.#errors.set(o.error, e);
        this.#first ??= e;
      }
      e.count++;
    }
  }

  /** The totals so far. */
  explanation(): DecisionExplanation {
    const sorted = (m: Map<string, number>) =>
      Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
    const errors = [...this.#errors.values()].sort(
      (a, b) => b.count - a.count || a.first_second - b.first_second,
    );
    return {
      reasons: sorted(this.#reasons),
      adjustments: sorted(this.#adjustments),
      first_error: this.#first ? { ...this.#first } : null,
      errors: errors.slice(0, 5).map((e) => ({ ...e })),
      distinct_errors: errors.length,
      policy_errors: errors.reduce((a, e) => a + e.count, 0),
      held_scale_downs: { ...this.#held },
    };
  }
}
