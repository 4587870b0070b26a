/**
 * `luascale demo`: self-contained. Starts the bundled demo backend (requests burn CPU) behind the
 * gateway, a control loop running the seed's sample policy (or a built-in), and the load generator
 * stepping the load up 4× and back down. Shows each decision live; ends with a summary.
 */
import type { Command } from 'commander';
import { llmDemoCommand } from './demo-llm-command.js';

/** The options of `demo` as commander hands them over. */
export interface DemoArgs {
  duration: string;
  policy: string;
  rps: string;
  burnMs: string;
  json?: boolean;
  llm?: boolean;
  timeScale: string;
}

/** Registers `demo`. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('A self-contained demo: backend, gateway, controller and a load spike, explained live')
    .option('--duration <s>', 'seconds of load', '60')
    .option(
      '--policy <p>',
      'builtin:NAME, or seed (the seed sample, scaling on CPU: needs a spare core) or a .lua file',
      'builtin:target-tracking',
    )
    .option('--rps <n>', 'base load in requests per second (the spike is 4×)', '15')
    .option('--burn-ms <ms>', 'CPU ms per request in the backend', '16')
    .option('--json', 'print the summary as JSON on stdout (live lines go to stderr)')
    .option(
      '--llm',
      'the AI demo: llm-sim model servers behind the front door, a step of streaming chats, scaling on the queues (--policy and --burn-ms do not apply; --rps is chats per second, default 3)',
    )
    .option('--time-scale <f>', "with --llm: llm-sim's real time per model time (0.5 runs 2x faster)", '1')
    .addHelpText(
      'after',
      '\nWith --llm: --json prints requests, ok, errors, ttft_ms {p50, p95}, replicas {min, max, final}, tokens {in, out}.\n' +
        '\nExit codes: 0 finished with no failed request, 1 some requests failed (or the policy file is\n' +
        'missing or does not compile), 2 a bad option value.',
    )
    .action(async (o: DemoArgs, cmd: Command) => {
      if (o.llm) return llmDemoCommand(o, cmd.getOptionValueSource('rps') === 'default' ? '3' : o.rps);
      const { demoCommand } = await import('./demo-run.js');
      await demoCommand(o);
    });
}
