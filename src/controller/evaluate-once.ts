/**
 * Decisions for a policy on JSON inputs, without running anything: the dry run behind
 * `luascale eval` (one input, or `--steps` / `--trace`: several, in order) and
 * `POST /v1/policies/eval`. Inputs are checked against the observation's schema
 * (observation-schema.ts); defaults (min, max, behaviour, interval) are the config's.
 */
import { scalingDefaults } from '../config/scaling-defaults.js';
import { createHistoryRing } from '../metrics/time-series-ring.js';
import { completeObservation, type Observation } from '../policy/policy.js';
import { decide } from './decide.js';
import { initialDecisionState, type Behavior, type Decision, type DecisionState } from './decision.js';
import { loadPolicy, type PolicyLimits, type PolicySource } from './load-policy.js';
import { validateObservationInput } from './observation-schema.js';

/** What `--input` may carry besides the Observation fields (EVAL_INPUT_SCHEMA). */
interface EvalInput extends Partial<Observation> {
  min?: number;
  max?: number;
  params?: Record<string, unknown>;
  state?: Record<string, unknown>;
  now?: number;
  service?: string;
}

/** The service's settings a run uses instead of the defaults (`eval -c luascale.yaml --service S`). */
export interface EvalSettings {
  service?: string;
  min?: number;
  max?: number;
  intervalMs?: number;
  behavior?: Behavior;
  params?: Record<string, unknown>;
  limits?: PolicyLimits;
  /** Observation fields the service adds (its SLO, its startup). */
  observation?: Partial<Observation>;
}

/** One call of a multi-step evaluation. */
export interface EvalStep {
  decision: Decision;
  /** The observation as the policy saw it (defaults filled in). */
  observation: Observation;
  /** ctx.state after the call. */
  state: Record<string, unknown>;
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
  const [step] = await evaluateSteps(ref, [input], { inputNames: [options.inputName ?? '--input'] });
  return step!.decision;
}

/**
 * Runs the policy on each input in order, carrying what the live controller carries from tick to
 * tick: ctx.state, the recommendations the stabilization windows remember, the rate limits' changes
 * and the history (`ctx.history`, `ctx.forecast`: each input's signals, held over the seconds
 * until the next). An input without `now` comes one interval after the previous one.
 */
export async function evaluateSteps(
  ref: PolicySource,
  inputs: readonly unknown[],
  options: { inputNames?: readonly string[]; settings?: EvalSettings; start?: number } = {},
): Promise<EvalStep[]> {
  const names = inputs.map((_, i) => options.inputNames?.[i] ?? `--input ${i + 1}`);
  inputs.forEach((input, i) => validateObservationInput(input, names[i]!));
  const first = inputs[0] as EvalInput | undefined;
  const settings = options.settings ?? {};
  const defaults = scalingDefaults();
  const params = settings.params ?? first?.params ?? {};
  const policy = await loadPolicy(
    'builtin' in ref && Object.keys(ref.params).length === 0 ? { ...ref, params } : ref,
    settings.limits,
  );
  try {
    const intervalMs = settings.intervalMs ?? defaults.intervalMs;
    const history = createHistoryRing({
      seconds: Math.max(3600, inputs.length * Math.ceil(intervalMs / 1000)),
    });
    let state: DecisionState = { ...initialDecisionState(), policyState: first?.state ?? {} };
    let now = first?.now ?? options.start ?? Math.floor(Date.now() / 1000) * 1000;
    let last: number | undefined;
    const out: EvalStep[] = [];
    for (const raw of inputs) {
      const inp = raw as EvalInput;
      if (inp.now !== undefined) now = inp.now;
      else if (last !== undefined) now = last + intervalMs;
      const replicas = inp.replicas ?? (inp.ready ?? 0) + (inp.starting ?? 0);
      const observation = completeObservation({
        ...settings.observation,
        ...inp,
        replicas: inp.replicas ?? (inp.ready === undefined && inp.starting === undefined ? 1 : replicas),
      });
      // History holds each input over the seconds since the previous one, as a tick's signals would.
      const from = last === undefined ? now : Math.max(last + 1000, now - 3600_000);
      for (let t = from; t <= now; t += 1000)
        history.recordAll(t, observation as unknown as Record<string, unknown>);
      const min = inp.min ?? settings.min ?? defaults.min;
      const spec = {
        service: inp.service ?? settings.service ?? 'eval',
        min,
        max: inp.max ?? settings.max ?? Math.max(min, defaults.max),
        intervalMs,
        behavior: settings.behavior ?? defaults.behavior,
        policy,
        params: inp.params ?? params,
      };
      const result = decide(spec, { observation, history, state, now });
      state = result.state;
      out.push({ decision: result.decision, observation, state: structuredClone(state.policyState) });
      last = now;
    }
    return out;
  } finally {
    policy.close?.();
  }
}
