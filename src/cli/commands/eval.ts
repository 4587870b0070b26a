/**
 * `luascale eval <policy.lua | builtin:NAME> --input <json | @file> [--json]`: one decision, explained.
 * `--steps file.jsonl`: one decision per line, carrying state, history and the stabilization
 * windows' memory from line to line, as the live loop carries them from tick to tick.
 */
import type { Command } from 'commander';
import type { EvalFlags } from './eval-run.js';

/** Registers `eval`. */
export function register(program: Command): void {
  program
    .command('eval')
    .description('Run scaling decisions for a policy on given observations and explain them')
    .argument('[policy]', "a Lua policy file or builtin:NAME (default with -c: the service's policy)")
    .option(
      '-i, --input <json>',
      'observation as JSON, or @file.json (e.g. {"cpu":85,"replicas":2,"min":1,"max":10}); keys: docs/eval-input.md',
    )
    .option(
      '--steps <file.jsonl>',
      'one observation per line (or simulate --decisions lines); state, history and the windows carry over',
    )
    .option(
      '-c, --config <luascale.yaml>',
      "take min, max, interval, behaviour, params, limits and SLO from a service's scaling section",
    )
    .option('--service <name>', 'the service in --config (default: the only one)')
    .option('--json', 'print JSON (with --steps: one object per line)')
    .addHelpText(
      'after',
      '\nWithout -c, min, max, behaviour and sandbox limits are the config defaults (min 1, max 10; docs/config-reference.md).\n' +
        'Exit codes: 0 decided, 1 the policy failed (PolicyError) or the policy or a file is missing or\n' +
        'invalid, 2 a bad argument value (inline --input that is not a valid observation, unknown builtin).\n' +
        'Examples:\n' +
        '  luascale eval examples/policies/seed-cpu.lua --input \'{"cpu":85,"replicas":2,"min":1,"max":10}\'\n' +
        '  luascale eval -c luascale.yaml --service web --steps ticks.jsonl',
    )
    .action(async (policyArg: string | undefined, opts: EvalFlags) => {
      const { evalCommand } = await import('./eval-run.js');
      await evalCommand(policyArg, opts);
    });
}
