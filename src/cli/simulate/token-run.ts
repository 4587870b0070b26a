/**
 * `luascale simulate` on a token trace (`t,context_tokens,generated_tokens`): the requests meet
 * simulated model servers on llm-sim's timing (src/simulator/token-simulate.ts), the engine set
 * by `--engine` (inline JSON or a JSON file of llm-sim's option names) and judged by
 * `--ttft-slo-ms`. Policies, `--compare`, `--json`, `--report` and `--decisions` work as for
 * request traces.
 */
import { existsSync, readFileSync } from 'node:fs';
import { badArgument } from '../bad-argument.js';
import type { EngineProfile } from '../../simulator/engine-replica.js';
import type { SimulatedPolicy, SimulationResult, SimulationSummary } from '../../simulator/simulate.js';
import {
  DEFAULT_ENGINE_PROFILE,
  DEFAULT_TTFT_SLO_MS,
  simulateTokens,
  validateProfile,
} from '../../simulator/token-simulate.js';
import type { Trace } from '../../simulator/trace.js';
import type { TokenTrace } from '../../simulator/token-trace.js';
import { decisionLog } from './decision-log.js';
import { formatExplanations } from './format-explanations.js';
import { formatTable } from './format-table.js';
import { progressBar } from './progress-bar.js';
import { num, type SimulateArgs, type SimulateFlags } from './simulate-flags.js';
import { writeReport } from './write-report.js';

/** Where the output goes. */
interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  tty: boolean;
}

/** `--engine`: inline JSON (`{"maxNumSeqs":32}`) or a JSON file, over the default engine; exit 2 when bad. */
export function engineProfile(value: string | undefined): EngineProfile {
  if (value === undefined) return { ...DEFAULT_ENGINE_PROFILE };
  let text = value.trim();
  if (!text.startsWith('{')) {
    if (!existsSync(text)) throw badArgument('--engine', `expected JSON or a JSON file, got "${value}"`);
    text = readFileSync(text, 'utf8');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw badArgument('--engine', `not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw badArgument('--engine', 'expected a JSON object of engine settings');
  const known = Object.keys(DEFAULT_ENGINE_PROFILE);
  const profile: Record<string, number> = { ...DEFAULT_ENGINE_PROFILE };
  for (const [k, v] of Object.entries(raw)) {
    if (!known.includes(k))
      throw badArgument('--engine', `${k}: unknown setting (known: ${known.join(', ')})`);
    if (typeof v !== 'number')
      throw badArgument('--engine', `${k}: expected a number, got ${JSON.stringify(v)}`);
    profile[k] = v;
  }
  try {
    validateProfile(profile as unknown as EngineProfile);
  } catch (err) {
    throw badArgument('--engine', (err as Error).message);
  }
  return profile as unknown as EngineProfile;
}

/** Runs the policies over a token trace and prints as `simulate` does for request traces. */
export function runTokenSimulate(
  trace: TokenTrace,
  o: { flags: SimulateFlags; args: SimulateArgs; policies: SimulatedPolicy[]; io: Io },
): SimulationSummary[] {
  const { flags, policies, io } = o;
  // A trace of dates starts the policies' clock at its first request unless --start says otherwise.
  const args =
    flags.start === undefined && trace.startMs !== undefined ? { ...o.args, startMs: trace.startMs } : o.args;
  const profile = engineProfile(flags.engine);
  const ttftSloMs = num(flags.ttftSloMs, '--ttft-slo-ms', DEFAULT_TTFT_SLO_MS, {
    min: 0,
    exclusiveMin: true,
  });
  const results: SimulationResult[] = [];
  const progress = flags.progress !== false && io.tty ? progressBar(io.err) : undefined;
  const log = flags.decisions !== undefined ? decisionLog(flags.decisions) : undefined;
  try {
    policies.forEach((p, i) => {
      results.push(
        simulateTokens({
          trace,
          scale: args.scale,
          seed: args.seed,
          profile,
          startupS: args.model.startupS,
          queueTimeoutS: args.model.queueTimeoutS,
          ttftSloMs,
          policy: p,
          initial: args.initial,
          startMs: args.startMs,
          slo: args.overrides.slo,
          seriesPoints: flags.report ? 1500 : 0,
          onProgress: progress
            ? (done, total) => progress.update((i + done / total) / policies.length, p.label)
            : undefined,
          onDecision: log ? (d, second) => log.write({ run: p.label, second, ...d }) : undefined,
        }),
      );
    });
  } finally {
    log?.close();
  }
  progress?.done();
  const summaries = results.map((r) => r.summary);
  const asTrace: Trace = {
    file: trace.file,
    t: new Float64Array(0),
    rps: new Float64Array(0),
    stepSeconds: 0.001,
    durationSeconds: trace.durationSeconds,
    gaps: [],
  };
  const model = results[0]?.model ?? args.model;
  if (flags.json) for (const s of summaries) io.out(JSON.stringify(s) + '\n');
  else {
    io.out(formatTable(asTrace, args.scale, model, summaries));
    io.out(formatExplanations(results.map((r) => [r.summary.policy, r.explanation])));
  }
  if (flags.decisions !== undefined && !flags.json) io.out(`decisions: ${flags.decisions}\n`);
  if (flags.report) {
    writeReport(flags.report, {
      trace: asTrace,
      scale: args.scale,
      seed: args.seed,
      startMs: args.startMs,
      model,
      policies,
      results,
    });
    if (!flags.json) io.out(`report: ${flags.report}\n`);
  }
  return summaries;
}
