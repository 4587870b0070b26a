/** The body of `luascale demo --llm`: checks the flags, runs the AI demo, prints the table or JSON. */

import { badArgument } from '../bad-argument.js';
import { formatRows } from '../input.js';
import type { DemoArgs } from './demo.js';

/** Runs the AI demo for `demo --llm`; `rps` is --rps with the AI demo's own default. */
export async function llmDemoCommand(o: DemoArgs, rps: string): Promise<void> {
  const durationS = Number(o.duration);
  const baseRps = Number(rps);
  const timeScale = Number(o.timeScale);
  for (const [k, raw, v] of [
    ['--duration', o.duration, durationS],
    ['--rps', rps, baseRps],
    ['--time-scale', o.timeScale, timeScale],
  ] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw badArgument(k, `must be a positive number, got "${raw}"`);
  }
  const out = o.json ? process.stderr : process.stdout;
  // Loaded here: the demo pulls in the app, which `demo` without --llm loads anyway.
  const { runLlmDemo } = await import('./demo-llm.js');
  const s = await runLlmDemo({ durationS, baseRps, timeScale, log: (l) => out.write(l + '\n') });
  if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
  else
    process.stdout.write(
      '\n' +
        formatRows([
          ['requests', `${s.requests} streaming chats, ${s.ok} ok, ${s.errors} errors`],
          ['ttft', `p50 ${s.ttft_ms.p50.toFixed(1)} ms, p95 ${s.ttft_ms.p95.toFixed(1)} ms`],
          ['replicas', `min ${s.replicas.min}, max ${s.replicas.max}, final ${s.replicas.final}`],
          ['tokens', `${s.tokens.in} in, ${s.tokens.out} out`],
          ['scale events', String(s.events.filter((e) => e.type === 'decision').length)],
        ]),
    );
  if (s.errors > 0) process.exitCode = 1;
}
