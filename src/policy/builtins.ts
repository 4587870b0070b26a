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
import { kedaLlmWaiting } from './builtin/keda-llm-waiting.js';
import { llmSaturation } from './builtin/llm-saturation.js';
import { llmSlo } from './builtin/llm-slo.js';

type Factory = (params: Readonly<Record<string, unknown>>) => Policy;

const FACTORIES: Record<string, Factory> = {
  'target-tracking': targetTracking,
  step,
  schedule: (params) => schedule(params, loadBuiltin),
  hpa,
  kpa,
  predictive,
  slo,
  'llm-saturation': llmSaturation,
  'llm-slo': llmSlo,
  'keda-llm-waiting': kedaLlmWaiting,
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
