/**
 * The body of `luascale simulate` (commands/simulate.ts registers the command and loads this module
 * when it runs): the simulator, the policy sandbox and the config loader load only then.
 */
import { badArgument } from '../bad-argument.js';
import { parseTrace } from '../../simulator/trace.js';
import { isTokenTraceText, parseTokenTrace, readText } from '../../simulator/token-trace.js';
import {
  simulate,
  type SimulatedPolicy,
  type SimulationResult,
  type SimulationSummary,
} from '../../simulator/simulate.js';
import { configPolicy, type SimulationSlo } from './config-policy.js';
import { decisionLog } from './decision-log.js';
import { formatExplanations } from './format-explanations.js';
import { formatTable } from './format-table.js';
import { progressBar } from './progress-bar.js';
import { DEFAULT_LIMITS, parseSimulateFlags, type SimulateFlags } from './simulate-flags.js';
import { addSpecPolicies } from './spec-policies.js';
import { runTokenSimulate } from './token-run.js';
import { writeReport } from './write-report.js';

/** Where the output goes (tests pass their own). */
export interface SimulateIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether stderr is a terminal (progress bar). */
  tty: boolean;
}

/** Runs `luascale simulate` with parsed flags; resolves to the summaries printed. */
export async function runSimulate(flags: SimulateFlags, io: SimulateIo): Promise<SimulationSummary[]> {
  const args = parseSimulateFlags(flags);
  const { scale, seed, initial, startMs, model, overrides } = args;
  let { min, max } = args;
  const text = readText(flags.trace);
  const tokens = isTokenTraceText(text) ? parseTokenTrace(text, flags.trace) : undefined;
  const trace = tokens ? undefined : parseTrace(text, flags.trace);

  const policies: SimulatedPolicy[] = [];
  let configSlo: SimulationSlo | undefined;
  try {
    if (flags.config !== undefined) {
      const fromConfig = await configPolicy({ ...flags, config: flags.config }, args);
      policies.push(fromConfig.policy);
      configSlo = fromConfig.slo;
    }
    min ??= DEFAULT_LIMITS.min;
    max ??= DEFAULT_LIMITS.max;
    if (min > max) throw badArgument('--min', `must be <= --max (${max}), got ${min}`);
    await addSpecPolicies(flags, { ...args, min, max }, policies);

    if (overrides.behavior) for (const p of policies) p.behavior = overrides.behavior;
    if (tokens) return runTokenSimulate(tokens, { flags, args, policies, io });
    const results: SimulationResult[] = [];
    const progress = flags.progress !== false && io.tty ? progressBar(io.err) : undefined;
    const log = flags.decisions !== undefined ? decisionLog(flags.decisions) : undefined;
    try {
      policies.forEach((p, i) => {
        const result = simulate({
          trace: trace!,
          scale,
          seed,
          model,
          policy: p,
          initial,
          startMs,
          slo: overrides.slo ?? (flags.config === undefined ? undefined : configSlo),
          seriesPoints: flags.report ? 1500 : 0,
          onProgress: progress
            ? (done, total) => progress.update((i + done / total) / policies.length, p.label)
            : undefined,
          onDecision: log ? (d, second) => log.write({ run: p.label, second, ...d }) : undefined,
        });
        results.push(result);
        for (const w of result.warnings) io.err(`warning: ${p.label}: ${w}\n`);
      });
    } finally {
      log?.close();
    }
    progress?.done();

    const summaries = results.map((r) => r.summary);
    if (flags.json) {
      // One JSON object per policy, one per line (JSON Lines), in the order given.
      for (const s of summaries) io.out(JSON.stringify(s) + '\n');
    } else {
      io.out(formatTable(trace!, scale, model, summaries));
      io.out(formatExplanations(results.map((r) => [r.summary.policy, r.explanation])));
    }
    if (flags.decisions !== undefined && !flags.json) io.out(`decisions: ${flags.decisions}\n`);
    if (flags.report) {
      writeReport(flags.report, { trace: trace!, scale, seed, startMs, model, policies, results });
      if (!flags.json) io.out(`report: ${flags.report}\n`);
    }
    return summaries;
  } finally {
    for (const p of policies) p.policy.close?.();
  }
}
