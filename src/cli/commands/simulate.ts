/**
 * `luascale simulate`: replay a request-rate trace through one or more policies and report cost,
 * SLO violations and SPEC RG elasticity metrics (docs/simulator.md).
 */
import type { Command } from 'commander';
import { DEFAULT_MODEL, DEFAULT_TTFT_SLO_MS } from '../../simulator/model-defaults.js';
import type { SimulationSummary } from '../../simulator/simulate.js';
import { collect, DEFAULT_LIMITS } from '../simulate/flag-defaults.js';
import type { SimulateFlags } from '../simulate/simulate-flags.js';
import type { SimulateIo } from '../simulate/run-simulate.js';

export type { SimulateIo } from '../simulate/run-simulate.js';

/** Runs `luascale simulate` with parsed flags; resolves to the summaries printed (../simulate/run-simulate.ts). */
export async function runSimulate(flags: SimulateFlags, io: SimulateIo): Promise<SimulationSummary[]> {
  return (await import('../simulate/run-simulate.js')).runSimulate(flags, io);
}

/** Registers `simulate`. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'Replay a request-rate trace through scaling policies and report cost, SLO violations and elasticity',
    )
    .requiredOption(
      '--trace <file.csv>',
      'CSV (or .gz) with header t,rps (t: seconds, epoch s/ms or ISO-8601; also time/timestamp, rate/qps or count), or a token trace t,context_tokens,generated_tokens (Azure, BurstGPT, Mooncake JSONL)',
    )
    .option('--scale <k>', 'multiply the trace rates by k (default 1)')
    .option('--policy <spec>', 'FILE.lua or builtin:NAME (params: builtin:NAME?key=value&...)')
    .option(
      '--set <key=value>',
      'a param for --policy or the -c policy (repeatable; value parsed as JSON when it can be)',
      collect,
      [],
    )
    .option('--capacity <rps>', `req/s one instance serves at 100 % CPU (default ${DEFAULT_MODEL.capacity})`)
    .option('--service-ms <ms>', `base latency of a request (default ${DEFAULT_MODEL.serviceMs})`)
    .option('--startup <s>', `seconds from launch to ready (default ${DEFAULT_MODEL.startupS})`)
    .option('--slo-p95-ms <ms>', `p95 latency objective (default ${DEFAULT_MODEL.sloP95Ms})`)
    .option(
      '--queue-timeout <s>',
      `seconds a request may wait before it is dropped (default ${DEFAULT_MODEL.queueTimeoutS})`,
    )
    .option('--min <n>', `fewest instances (default ${DEFAULT_LIMITS.min})`)
    .option('--max <n>', `most instances (default ${DEFAULT_LIMITS.max})`)
    .option('--seed <n>', 'Poisson arrivals from this seed (default: deterministic even spreading)')
    .option(
      '--interval <duration>',
      'decision interval for every policy (default: hpa 15s, kpa 2s, others 1s)',
    )
    .option('--initial <n>', 'ready instances at t=0 (default: enough for the first row at 70 %)')
    .option('--start <iso>', 'wall-clock time of t=0 as policies see it (default 1970-01-01T00:00:00Z)')
    .option('--compare <specs>', 'comma-separated policies to run side by side')
    .option('--json', 'print one JSON object per policy, one per line')
    .option('--report <out.html>', 'write a self-contained HTML report with charts')
    .option(
      '-c, --config <luascale.yaml>',
      "take the policy, params, behaviour, min and max from a service's scaling section",
    )
    .option('--service <name>', 'the service in --config')
    .option(
      '--behavior <json>',
      'scaling behaviour for every policy, as the config\'s scaling.behavior (e.g. \'{"scale_down":{"stabilization":"60s"}}\')',
    )
    .option(
      '--slo <json>',
      'ctx.slo, as the config\'s scaling.slo (e.g. \'{"latency_p95_ms":200,"error_rate":0.01}\')',
    )
    .option(
      '--decisions <out.jsonl>',
      'write every decision (inputs, policy answer, steps, logs, alerts) as JSON Lines',
    )
    .option(
      '--engine <json|file>',
      'token traces: the model server, llm-sim settings as JSON or a JSON file (e.g. \'{"maxNumSeqs":32,"itlMs":15}\')',
    )
    .option('--ttft-slo-ms <ms>', `token traces: the TTFT p95 objective (default ${DEFAULT_TTFT_SLO_MS})`)
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      '\nExample:\n  luascale simulate --trace nasa.csv --scale 300 --policy builtin:hpa --capacity 100 --startup 30 --slo-p95-ms 250 --json\n' +
        '  luascale simulate --trace nasa.csv --scale 300 --compare builtin:hpa,builtin:kpa,policies/cpu.lua --report out.html',
    )
    .action(async (flags: SimulateFlags) => {
      const summaries = await runSimulate(flags, {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        tty: process.stderr.isTTY === true,
      });
      // The run is complete, but a policy that failed is not a result to ship: say so and exit 4.
      const failed = summaries.filter((s) => s.policy_errors > 0);
      if (failed.length > 0) {
        const list = failed.map((s) => `${s.policy} ${s.policy_errors} of ${s.decisions}`).join(', ');
        process.stderr.write(`error: policy errors (decisions that fell back to PolicyError): ${list}\n`);
        process.exitCode = 4; // EXIT.policy (../main.ts; not imported: main imports the commands)
      }
    });
}
