/**
 * One decision for a policy on a JSON input, with default behaviour and no history: the dry run
 * behind `luascale eval` and `POST /v1/policies/eval`.
 */
import { LuascaleError } from '../core/errors.js';
import { completeObservation, emptyHistory, type Observation } from '../policy/policy.js';
import { decide, defaultBehavior } from './decide.js';
import { initialDecisionState, type Decision } from './decision.js';
import { loadPolicy, type PolicySource } from './load-policy.js';

/** What `--input` may carry besides the Observation fields. */
interface EvalInput extends Partial<Observation> {
  min?: number;
  max?: number;
  params?: Record<string, unknown>;
  state?: Record<string, unknown>;
  now?: number;
  service?: string;
}

/**
 * Runs one decision for a policy on a JSON input (`luascale eval`, `POST /v1/policies/eval`).
 * `inputName` is what errors call the input: the CLI's `--input`, the API's `body/input`.
 */
export async function evaluateOnce(
  ref: PolicySource,
  input: unknown,
  options: { inputName?: string } = {},
): Promise<Decision> {
  const inputName = options.inputName ?? '--input';
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: inputName,
      reason: 'must be a JSON object such as {"cpu":85,"replicas":2}',
    });
  }
  const inp = input as EvalInput;
  for (const k of ['min', 'max', 'replicas'] as const) {
    const v = inp[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) {
      throw new LuascaleError('LS_ERR_CLI_INPUT', {
        where: `${inputName}${inputName.startsWith('-') ? ' ' : '/'}${k}`,
        reason: `must be a whole number >= 0, got ${JSON.stringify(v)}`,
      });
    }
  }
  const policy = await loadPolicy(
    'builtin' in ref && Object.keys(ref.params).length === 0 ? { ...ref, params: inp.params ?? {} } : ref,
  );
  try {
    const min = inp.min ?? 0;
    const max = inp.max ?? Math.max(10, inp.replicas ?? 1);
    const spec = {
      service: inp.service ?? 'eval',
      min,
      max,
      intervalMs: 1000,
      behavior: defaultBehavior(),
      policy,
      params: inp.params ?? {},
    };
    const state = { ...initialDecisionState(), policyState: inp.state ?? {} };
    const observation = completeObservation({ replicas: 1, ...inp });
    return decide(spec, observation, emptyHistory, state, inp.now ?? Date.now()).decision;
  } finally {
    policy.close?.();
  }
}
