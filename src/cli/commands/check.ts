/** `luascale check <policy.lua | luascale.yaml>`: validates without running anything. */
import type { Command } from 'commander';
import { isLuascaleError } from '../../core/errors.js';
import { badArgument } from '../bad-argument.js';
import { configError, loadConfig } from '../../config/load-config.js';
import { listenerIssues } from '../../config/check-listeners.js';
import { scalingFromConfig, type PolicyRef } from '../../config/scaling-settings.js';
import { loadPolicy, parsePolicyArg } from '../../controller/load-policy.js';
import { runTrial } from '../../controller/trial-policy.js';
import { checkOpenApi, openApiTable, type OpenApiSummary } from './check-openapi.js';

/** One checked item. */
export interface CheckResult {
  target: string;
  ok: boolean;
  message: string;
  /** For an OpenAPI document: what it imported. */
  openapi?: OpenApiSummary;
}

/**
 * Loads a policy and runs the trial evaluations on it (typical, idle, overload, fractional values,
 * instances starting; src/controller/trial-policy.ts), so runtime errors, bad results and endless
 * loops show too. A hot reload runs the same trial before it replaces a running policy.
 */
async function checkPolicy(
  ref: PolicyRef,
  label: string,
  limits?: { instructions: number; memoryBytes: number },
  params: Record<string, unknown> = 'params' in ref ? ref.params : {},
): Promise<CheckResult> {
  try {
    const policy = await loadPolicy(ref, limits);
    try {
      const trial = await runTrial((ctxs) => ctxs.map((ctx) => policy.evaluate(ctx)), {
        service: label,
        now: Date.now(),
        min: 1,
        max: 10,
        params,
      });
      if (!trial.ok) return { target: label, ok: false, message: `${trial.error} (trial: ${trial.point})` };
      const counts = trial.recommendations.map((r) => r.replicas).join(', ');
      return { target: label, ok: true, message: `ok (trial evaluations recommend ${counts})` };
    } finally {
      policy.close?.();
    }
  } catch (err) {
    if (isLuascaleError(err)) return { target: label, ok: false, message: err.message };
    throw err;
  }
}

/** Checks a Lua file, a `builtin:NAME` or a whole config. */
export async function check(target: string): Promise<CheckResult[]> {
  if (/\.ya?ml$/i.test(target)) {
    let loaded;
    try {
      loaded = loadConfig(target);
    } catch (err) {
      if (isLuascaleError(err)) return [{ target, ok: false, message: err.message }];
      throw err;
    }
    // What `up` checks before it listens: a non-loopback admin without a token, unresolvable hosts.
    const listen = await listenerIssues(loaded);
    const results: CheckResult[] = listen.length
      ? [{ target, ok: false, message: configError(target, listen).message }]
      : [{ target, ok: true, message: `ok (${Object.keys(loaded.config.services).length} service(s))` }];
    for (const name of Object.keys(loaded.config.services)) {
      const s = scalingFromConfig(loaded.config, name, loaded.baseDir);
      const label = 'file' in s.policy ? s.policy.file : `services.${name}: builtin:${s.policy.builtin}`;
      const ref = 'file' in s.policy ? s.policy : { ...s.policy, params: { ...s.policy.params } };
      results.push(await checkPolicy(ref, label, s.limits, s.params));
    }
    // Each service's OpenAPI document, imported as `up` imports it.
    results.push(...(await checkOpenApi(loaded)));
    return results;
  }
  if (!target.endsWith('.lua') && !target.startsWith('builtin:')) {
    throw badArgument(target, 'expected a .lua policy, builtin:NAME or a .yaml config');
  }
  return [await checkPolicy(parsePolicyArg(target), target)];
}

/** Registers `check`. */
export function register(program: Command): void {
  program
    .command('check')
    .description(
      'Validate a Lua policy or a luascale.yaml (and every policy and OpenAPI document it names, with what each document imported)',
    )
    .argument('<file>', 'policy.lua, builtin:NAME or luascale.yaml')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 valid, 1 invalid (each problem on its own line with file:line), 2 not a .lua, builtin:NAME or .yaml.',
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      const results = await check(file);
      if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
      else {
        for (const r of results) {
          const out = r.ok ? process.stdout : process.stderr;
          out.write(
            r.ok
              ? `${r.target}: ${r.message}\n`
              : `${r.message.includes(r.target) ? '' : `${r.target}: `}${r.message}\n`,
          );
        }
        process.stdout.write(openApiTable(results.flatMap((r) => (r.openapi ? [r.openapi] : []))));
      }
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
