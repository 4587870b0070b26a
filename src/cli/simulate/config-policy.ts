import { dirname, normalize, resolve } from 'node:path';
import { loadConfig, scalingFromConfig } from '../../config/index.js';
import { loadPolicy } from '../../controller/load-policy.js';
import type { simulate, SimulatedPolicy } from '../../simulator/simulate.js';
import { badArgument } from '../bad-argument.js';
import type { SimulateArgs, SimulateFlags } from './simulate-flags.js';

/** The SLO a simulation judges against. */
export type SimulationSlo = NonNullable<Parameters<typeof simulate>[0]['slo']>;

/**
 * `-c luascale.yaml --service NAME`: the service's policy with its params, behaviour, bounds and
 * interval (flags win), and its SLO. Takes the service's startup and p95 objective into
 * `args.model` unless a flag gave them.
 */
export async function configPolicy(
  flags: SimulateFlags & { config: string; service?: string },
  args: SimulateArgs,
): Promise<{ policy: SimulatedPolicy; slo: SimulationSlo | undefined }> {
  const { config: file } = flags;
  const service = flags.service!;
  const { model, params, overrides, intervalMs, min, max } = args;
  const { config } = loadConfig(file);
  if (!config.services[service])
    throw badArgument(
      '--service',
      `no service "${flags.service}" in ${file} (services: ${Object.keys(config.services).join(', ')})`,
    );
  const s = scalingFromConfig(config, service, dirname(resolve(file)));
  if (flags.startup === undefined && s.startupMs !== undefined) model.startupS = s.startupMs / 1000;
  if (flags.sloP95Ms === undefined && s.slo?.latency_p95_ms !== undefined && !overrides.slo)
    model.sloP95Ms = s.slo.latency_p95_ms;
  const policyParams = 'builtin' in s.policy ? { ...s.policy.params, ...params } : { ...s.params, ...params };
  const ref = 'builtin' in s.policy ? { builtin: s.policy.builtin, params: policyParams } : s.policy;
  const policy = await loadPolicy(ref, {
    instructions: s.limits.instructions,
    memoryBytes: s.limits.memoryBytes,
  });
  const simulated: SimulatedPolicy = {
    label: `${flags.service}: ${'builtin' in s.policy ? `builtin:${s.policy.builtin}` : normalize(s.policy.file)}`,
    policy,
    params: policyParams,
    intervalMs: intervalMs ?? s.intervalMs,
    windowMs: s.windowMs,
    behavior: s.behavior,
    min: min ?? s.min,
    max: max ?? s.max,
  };
  return { policy: simulated, slo: s.slo };
}
