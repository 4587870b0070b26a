import { isLuascaleError } from '../../core/errors.js';
import type { SimulatedPolicy } from '../../simulator/simulate.js';
import { simulationPolicy } from '../../simulator/simulation-policy.js';
import { badArgument } from '../bad-argument.js';
import { splitList, type SimulateArgs, type SimulateFlags } from './simulate-flags.js';

/** Errors that mean a policy spec (`builtin:NAME?k=v`) itself is wrong, not a file it names. */
const BAD_SPEC_CODES: ReadonlySet<string> = new Set([
  'LS_ERR_CLI_USAGE',
  'LS_ERR_POLICY_UNKNOWN_BUILTIN',
  'LS_ERR_POLICY_PARAMS',
]);

/**
 * Loads the policies `--policy` and `--compare` name, with the simulation's bounds and model, into
 * `policies` one by one (so the caller closes those loaded when a later one fails). `policies`
 * holds the `-c` policy, if any; then neither flag is needed.
 */
export async function addSpecPolicies(
  flags: SimulateFlags,
  args: SimulateArgs & { min: number; max: number },
  policies: SimulatedPolicy[],
): Promise<void> {
  const { model, min, max, intervalMs, params } = args;
  const specs: Array<{ arg: string; params: Record<string, unknown> }> = [];
  if (Object.keys(params).length > 0 && flags.policy === undefined && flags.config === undefined)
    throw badArgument(
      '--set',
      'applies to --policy (or the policy of -c); give --compare params as builtin:NAME?key=value',
    );
  if (flags.policy !== undefined) specs.push({ arg: flags.policy, params });
  for (const arg of splitList(flags.compare)) specs.push({ arg, params: {} });
  if (specs.length === 0 && policies.length === 0) {
    throw badArgument(
      '--policy',
      'give --policy FILE.lua|builtin:NAME, --compare A,B,... or -c luascale.yaml --service NAME',
    );
  }
  for (const s of specs) {
    const flag = s.arg === flags.policy ? '--policy' : '--compare';
    policies.push(
      await simulationPolicy(s.arg, {
        capacity: model.capacity,
        serviceMs: model.serviceMs,
        startupS: model.startupS,
        min,
        max,
        intervalMs,
        params: s.params,
      }).catch((err: unknown) => {
        // A spec that names no policy or bad params is a bad argument value (2); a policy file
        // that is missing or does not compile stays a file error (1), naming the file.
        if (isLuascaleError(err) && BAD_SPEC_CODES.has(err.code)) throw badArgument(flag, err.message);
        throw err;
      }),
    );
  }
}
