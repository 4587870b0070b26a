/** Small JSON state per service: `ctx.state` of policies and the decision core's DecisionState. */
import type { Awaitable } from './store.js';

/** Key under which a service's DecisionState (src/controller/decision.ts) is kept. */
export const DECISION_STATE_KEY = 'decision';

/** Key for one policy's `ctx.state`, e.g. `policy:builtin:hpa`. */
export function policyStateKey(policyName: string): string {
  return `policy:${policyName}`;
}

/** JSON values by (service, key). Writes may be batched; a `get` always sees the last `set`. */
export interface StateStore {
  /** The stored value, or undefined. */
  get<T = unknown>(service: string, key: string): Awaitable<T | undefined>;
  /** Replaces the value (must be JSON-serialisable). */
  set(service: string, key: string, value: unknown): Awaitable<void>;
  /** Removes the value (no error if absent). */
  delete(service: string, key: string): Awaitable<void>;
}
