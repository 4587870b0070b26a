/** `luascale check <policy.lua | luascale.yaml>`: validates without running anything. */
import type { Command } from 'commander';
import type { CheckExtras, CheckResult } from './check-run.js';

export type { CheckResult } from './check-run.js';

/** Checks a Lua file, a `builtin:NAME` or a whole config (check-run.ts; loaded on the first call). */
export async function check(target: string, extras: CheckExtras = {}): Promise<CheckResult[]> {
  return (await import('./check-run.js')).check(target, extras);
}

/** Registers `check`. */
export function register(program: Command): void {
  program
    .command('check')
    .description(
      'Validate a Lua policy or a luascale.yaml (and every policy and OpenAPI document it names, with what each document imported)',
    )
    .argument('<file>', 'policy.lua, builtin:NAME or luascale.yaml')
    .option('--params <json>', "ctx.params for the trial evaluations (merged over a config's scaling.params)")
    .option(
      '-i, --input <json>',
      'one more observation to try, as JSON or @file.json (keys: docs/eval-input.md)',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe policy runs on several observations (typical, idle, overload, fractional values, instances\n' +
        'starting, with an SLO, and --input); literal metric names in get_metric/ctx.history/ctx.forecast\n' +
        "are checked against the signal catalogue and the config's metrics. A config also gets up's\n" +
        'pre-flight: listeners (token, admin = gateway, ports in range and free), OpenAPI files, provider\n' +
        'cwd, commands on PATH, and routes two services share.\n' +
        'Exit codes: 0 valid, 1 invalid (each problem on its own line with file:line), 2 not a .lua, builtin:NAME\n' +
        'or .yaml, or a bad --params/--input.',
    )
    .action(async (file: string, opts: { json?: boolean; params?: string; input?: string }) => {
      const { checkCommand } = await import('./check-run.js');
      await checkCommand(file, opts);
    });
}
