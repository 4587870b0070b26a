/** The scaling spec most controller tests use: service `web`, 1..4 replicas, target-tracking rps at 50. */
import { defaultBehavior } from '../../src/controller/behavior-defaults.js';
import type { ScalingSpec } from '../../src/controller/decision.js';
import { loadBuiltin } from '../../src/policy/builtins.js';

/** `web`, min 1, max 4, 1 s interval, default behavior, builtin target-tracking on rps (target 50); `over` replaces fields. */
export function rpsScalingSpec(over: Partial<ScalingSpec> = {}): ScalingSpec {
  return {
    service: 'web',
    min: 1,
    max: 4,
    intervalMs: 1000,
    behavior: defaultBehavior(),
    policy: loadBuiltin('target-tracking', { metric: 'rps', target: 50 }),
    params: {},
    ...over,
  };
}
