/**
 * Actuation planning, pure: given the desired count and the live instances, what to launch or
 * which instances to stop. The control loop carries the plan out and records it.
 */
import type { Instance } from './provider.js';
import { pickForRemoval } from './pick-for-removal.js';

/** What the loop does to converge on `desired`; `from` is the active count it starts from. */
export type ActuationPlan =
  | { action: 'none' }
  | { action: 'launch'; count: number; from: number }
  | { action: 'stop'; victims: Instance[]; from: number };

/** Inputs of {@link planActuation} besides the desired count. */
export interface ActuationFacts {
  /** The provider's instances now. */
  instances: readonly Instance[];
  /** Ids already being stopped (a stop in flight is not counted again). */
  stopping: ReadonlySet<string>;
  /** Replacements the provider launches by itself (after a crash back-off): already coming. */
  pending: number;
}

/** Plans the launches or stops that move the active instances to `desired`. */
export function planActuation(desired: number, facts: ActuationFacts): ActuationPlan {
  const live = facts.instances.filter((i) => i.state === 'starting' || i.state === 'ready');
  const active = live.filter((i) => !facts.stopping.has(i.id));
  const pending = facts.pending;
  if (desired > active.length + pending)
    return { action: 'launch', count: desired - active.length - pending, from: active.length };
  if (desired < active.length) {
    // Remove instances that are not serving yet first, then the newest (Kubernetes' ReplicaSet order).
    return { action: 'stop', victims: pickForRemoval(active, active.length - desired), from: active.length };
  }
  return { action: 'none' };
}
