/** `luascale eval <policy.lua | builtin:NAME> --input <json | @file> [--json]`: one decision, explained. */
import type { Command } from 'commander';
import { evaluateOnce } from '../../controller/evaluate-once.js';
import { parsePolicyArg } from '../../controller/load-policy.js';
import { formatRows, readJsonInput } from '../input.js';
import { badArgument } from '../bad-argument.js';
import { BUILTIN_NAMES } from '../../policy/builtins.js';

/** Registers `eval`. */
export function register(program: Command): void {
  program
    .command('eval')
    .description('Run one scaling decision for a policy and explain it')
    .argument('<policy>', 'a Lua policy file or builtin:NAME')
    .requiredOption(
      '-i, --input <json>',
      'observation as JSON, or @file.json (e.g. {"cpu":85,"replicas":2,"min":1,"max":10})',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 decided, 1 the policy failed (PolicyError) or the policy or @file is missing or\n' +
        'invalid, 2 a bad argument value (inline --input that is not a valid observation, unknown builtin).\n' +
        'Example: luascale eval examples/policies/seed-cpu.lua --input \'{"cpu":85,"replicas":2,"min":1,"max":10}\'',
    )
    .action(async (policyArg: string, opts: { input: string; json?: boolean }) => {
      if (policyArg.startsWith('builtin:') && !BUILTIN_NAMES.includes(policyArg.slice('builtin:'.length)))
        throw badArgument(policyArg, `unknown built-in policy (known: ${BUILTIN_NAMES.join(', ')})`);
      // Inline JSON is an argument value (a bad field: exit 2); an @file's fields are the file's (1).
      const inputName = opts.input.startsWith('@') ? opts.input.slice(1) : '--input';
      const d = await evaluateOnce(parsePolicyArg(policyArg), readJsonInput(opts.input), { inputName });
      const outcome = d.policy.outcome;
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({
            replicas: d.replicas,
            reason: d.reason,
            message: d.message,
            logs: outcome.logs,
            alerts: outcome.alerts,
            current: d.current,
            mode: d.mode,
            policy: d.policy.name,
            recommended: outcome.ok ? outcome.replicas : null,
            error: outcome.ok ? null : outcome.error,
            steps: d.steps,
          }) + '\n',
        );
      } else {
        const rows: Array<[string, string]> = [
          ['replicas', `${d.current} → ${d.replicas}`],
          ['reason', d.reason],
          ['message', d.message],
          ['policy', `${d.policy.name}: ${outcome.ok ? `recommends ${outcome.replicas}` : outcome.error}`],
        ];
        for (const s of d.steps) rows.push([`  ${s.stage}`, `${s.from} → ${s.to} ${s.reason}: ${s.note}`]);
        for (const l of outcome.logs) rows.push(['log', l]);
        for (const a of outcome.alerts) rows.push(['alert', `[${a.severity}] ${a.message}`]);
        process.stdout.write(formatRows(rows));
      }
      if (d.reason === 'PolicyError') process.exitCode = 1;
    });
}
