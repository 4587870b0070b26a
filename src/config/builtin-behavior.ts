/**
 * The `behavior` a built-in policy runs under when a service sets none of its own: the defaults of
 * the scaling section depend on the policy it names. These are config defaults, in the scaling
 * section's normalised units, so they live here and not beside the built-ins (config sits below
 * `policy/` and does not import it; docs/architecture.md "Layers"). Keep them in step with
 * src/policy/builtin/kpa.ts and predictive.ts, which smooth and limit on their own.
 */

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
  // llm-slo holds every scale-in for the startup time itself (its rate is the peak of that window).
  'llm-slo': Object.freeze({ scaleDownStabilizationMs: 0, tolerance: 0, panic: false }),
});
