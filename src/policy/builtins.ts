/**
 * The registry of built-in policies: `{ builtin: NAME, params }` in config, `builtin:NAME` on the
 * CLI. Each built-in validates its params when loaded (LS_ERR_POLICY_PARAMS) and then runs
 * through the same decision core as a Lua policy. Formulas and sources: docs/builtin-policies.md.
 */
import { LuascaleError } from '../core/errors.js';
import type { Policy } from './policy.js';
import { targetTracking } from './builtin/target-tracking.js';
import { step } from './builtin/step.js';
import { schedule } from './builtin/schedule.js';
import { hpa } from './builtin/hpa.js';
import { kpa } from './builtin/kpa.js';
import { predictive } from './builtin/predictive.js';
import { slo } from './builtin/slo.js';

type Factory = (params: Readonly<Record<string, unknown>>) => Policy;

const FACTORIES: Record<string, Factory> = {
  'target-tracking': targetTracking,
  step,
  schedule: (params) => schedule(params, loadBuiltin),
  hpa,
  kpa,
  predictive,
  slo,
};

/** Names of every built-in policy. */
export const BUILTIN_NAMES: readonly string[] = Object.freeze(Object.keys(FACTORIES));

/** Loads built-in `name` with `params`; throws LS_ERR_POLICY_UNKNOWN_BUILTIN or LS_ERR_POLICY_PARAMS. */
export function loadBuiltin(name: string, params: Record<string, unknown> = {}): Policy {
  const factory = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (!factory)
    throw new LuascaleError('LS_ERR_POLICY_UNKNOWN_BUILTIN', { name, known: BUILTIN_NAMES.join(', ') });
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new LuascaleError('LS_ERR_POLICY_PARAMS', {
      name,
      reason: `params: expected an object, got ${JSON.stringify(params)}`,
    });
  }
  return factory(params);
}

/**
 * How the decision core should run around a built-in that smooths and limits on its own, in the
 * core's normalised units. Built-ins not listed run under the service's `behavior` (HPA defaults).
 * The controller and the simulator apply these only where the user set no `behavior` of their own.
 */
export interface BuiltinBehaviorHints {
  /** Scale-down stabilization window, ms (the core's default is the HPA's 300 s). */
  scaleDownStabilizationMs?: number;
  /** Tolerance band (the core's default is 0.1). */
  tolerance?: number;
  /** Whether the core's panic mode should run. */
  panic?: boolean;
  /** Whether the core's per-period change limits should apply. */
  rateLimits?: boolean;
}

/**
 * Behaviour hints per built-in. `kpa` has Knative's windows, panic and rate bounds inside it;
 * `predictive` plans its own headroom (square-root staffing, the forecast's error quantile, a
 * quantile of the last 15 minutes when reacting) and holds its own scale-ins, so a second 300 s
 * window and a 10 % band on top only add cost (measured in docs/builtin-policies.md).
 */
export const BUILTIN_BEHAVIOR: Readonly<Record<string, Readonly<BuiltinBehaviorHints>>> = Object.freeze({
  kpa: Object.freeze({ scaleDownStabilizationMs: 0, tolerance: 0, panic: false, rateLimits: false }),
  predictive: Object.freeze({ scaleDownStabilizationMs: 0, tolerance: 0, panic: false }),
});
