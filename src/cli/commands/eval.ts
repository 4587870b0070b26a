/** `luascale eval <policy.lua | builtin:NAME> --input <json | @file> [--json]`: one decision, explained. */
import type { Command } from 'commander';
import { evaluateOnce } from '../../controller/evaluate-once.js';
import { parsePolicyArg } from '../../controller/load-policy.js';
import { formatRows, readJsonInput } from '../input.js';

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
      '\nExit codes: 0 decided, 1 bad input or the policy failed (PolicyError).\n' +
        'Example: luascale eval examples/policies/seed-cpu.lua --input \'{"cpu":85,"replicas":2,"min":1,"max":10}\'',
    )
    .action(async (policyArg: string, opts: { input: string; json?: boolean }) => {
      const d = await evaluateOnce(parsePolicyArg(policyArg), readJsonInput(opts.input));
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
