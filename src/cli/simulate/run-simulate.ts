/**
 * The body of `luascale simulate` (commands/simulate.ts registers the command and loads this module
 * when it runs): the simulator, the policy sandbox and the config loader load only then.
 */
import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LuascaleError } from '../../core/errors.js';
import { badArgument } from '../bad-argument.js';
import { parseTrace, type Trace } from '../../simulator/trace.js';
import { isTokenTraceText, parseTokenTrace } from '../../simulator/token-trace.js';
import { readTraceText } from '../../simulator/trace-table.js';
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
  const { scale, seed, initial, model, overrides } = args;
  let { min, max } = args;
  // A month-long run must not end in "cannot write report": check the report's folder first.
  if (flags.report !== undefined) writableFolder(flags.report);
  // Reading a 100 MB trace takes seconds before the first policy starts: say so on a terminal.
  const reading = flags.progress !== false && io.tty ? progressBar(io.err) : undefined;
  reading?.update(0, `reading ${flags.trace}`);
  const text = readTraceText(flags.trace);
  const tokens = isTokenTraceText(text) ? parseTokenTrace(text, flags.trace) : undefined;
  const trace = tokens ? undefined : parseTrace(text, flags.trace);
  reading?.done();
  // A trace of dates starts the policies' clock at its first row unless --start says otherwise.
  const startMs = flags.start === undefined ? (trace?.startMs ?? args.startMs) : args.startMs;
  for (const note of trace?.notes ?? []) io.err(`note: ${flags.trace}: ${note}\n`);

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
    const far = scaleWarning(trace!, { scale, capacity: model.capacity, min, max });
    if (far) io.err(`warning: ${flags.trace}: ${far}\n`);
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

/**
 * A trace far from the service's size says so (the run still happens): a peak that needs more than
 * `--max` instances only measures drops, one below a tenth of an instance measures nothing.
 */
export function scaleWarning(
  trace: Trace,
  o: { scale: number; capacity: number; min: number; max: number },
): string | undefined {
  let peak = 0;
  for (const r of trace.rps) if (r > peak) peak = r;
  const need = (peak * o.scale) / o.capacity;
  const fmt = (x: number) => x.toLocaleString('en-US', { maximumSignificantDigits: 3 });
  const what = `the trace peaks at ${fmt(peak)} req/s × ${fmt(o.scale)}, ${fmt(need)} instance(s) at --capacity ${fmt(o.capacity)}`;
  const target = Math.max(1, Math.min(10, o.max / 2));
  const fit = `--scale ${fmt((o.capacity * target) / Math.max(peak, 1e-12))} brings the peak to ${fmt(target)} instance(s)`;
  if (need > o.max) return `${what}, above --max ${o.max}: the run measures mostly drops; ${fit}`;
  if (need < 0.1 && peak > 0) return `${what}: the service idles at --min ${o.min}; ${fit}`;
  return undefined;
}

/** Throws the one-line error `writeReport` would, before the run rather than after it. */
function writableFolder(file: string): void {
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: `cannot write report: ${(err as Error).message}`,
    });
  }
}
