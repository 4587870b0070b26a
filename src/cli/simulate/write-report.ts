import { writeFileSync } from 'node:fs';
import { LuascaleError } from '../../core/errors.js';
import { renderReport } from '../../simulator/html-report.js';
import type { ModelParams, SimulatedPolicy, SimulationResult } from '../../simulator/simulate.js';
import type { Trace } from '../../simulator/trace.js';

/** What the HTML report shows: the trace, the model and each policy's run. */
export interface ReportRuns {
  trace: Trace;
  scale: number;
  seed: number | undefined;
  startMs: number;
  model: ModelParams;
  policies: SimulatedPolicy[];
  results: SimulationResult[];
}

/** `--report`: writes the self-contained HTML report to `file` (LS_ERR_CLI_INPUT when it cannot). */
export function writeReport(
  file: string,
  { trace, scale, seed, startMs, model, policies, results }: ReportRuns,
): void {
  const html = renderReport({
    trace: {
      file: trace.file,
      stepSeconds: trace.stepSeconds,
      durationSeconds: trace.durationSeconds,
      gaps: trace.gaps.length,
    },
    scale,
    seed,
    startMs,
    model,
    runs: results.map((result, i) => ({
      result,
      intervalMs: Math.max(1000, Math.round(policies[i]!.intervalMs / 1000) * 1000),
      min: policies[i]!.min,
      max: policies[i]!.max,
    })),
    generatedAt: new Date(),
  });
  try {
    writeFileSync(file, html);
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: `cannot write report: ${(err as Error).message}`,
    });
  }
}
