/**
 * Tuning loop for `builtin:predictive` (issue 5, "Quality"): runs a policy on the three shared
 * traces with the backtest settings of docs/backtests.md through the simulator's API and prints
 * its cost and violations against `hpa`, `kpa` and the ideal, with the goal verdict.
 *
 *   nice -n 19 npx tsx scripts/predictive-backtest.ts [--traces nasa,twitter,azure] [--policy SPEC] [key=value ...]
 *
 * key=value pairs are predictive params (as `--set`). Baselines are cached in
 * $TMPDIR/luascale-baselines.json (delete it after a simulator change).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readTrace,
  simulate,
  simulationPolicy,
  type SimulationSummary,
  type Trace,
} from '../src/simulator/index.js';
import { parseValue } from '../src/simulator/simulation-policy.js';

/** The traces and scales of docs/backtests.md. */
export const BACKTEST_TRACES: Record<string, { file: string; scale: number }> = {
  nasa: { file: '../shared/traces/nasa-1995-07-per-minute.csv', scale: 300 },
  twitter: { file: '../shared/traces/twitter-stream-2021-08-per-minute.csv', scale: 6.5 },
  azure: { file: '../shared/traces/azure-llm-code-2023-11-16-1h-per-second.csv', scale: 30 },
};

/** The model of docs/backtests.md. */
export const BACKTEST_MODEL = {
  capacity: 100,
  serviceMs: 50,
  startupS: 30,
  sloP95Ms: 250,
  queueTimeoutS: 30,
  drainS: 1,
};

/** Runs one policy argument on one of BACKTEST_TRACES. */
export async function runOne(
  name: string,
  arg: string,
  params: Record<string, unknown> = {},
): Promise<SimulationSummary> {
  const t = BACKTEST_TRACES[name]!;
  return runOn({ trace: readTrace(t.file), scale: t.scale }, arg, params);
}

/**
 * Runs one policy argument on a trace with the model of docs/backtests.md (`seed`: Poisson
 * arrivals from it; undefined: even spreading).
 */
export async function runOn(
  run: { trace: Trace; scale: number; seed?: number },
  arg: string,
  params: Record<string, unknown> = {},
): Promise<SimulationSummary> {
  const m = BACKTEST_MODEL;
  const p = await simulationPolicy(arg, {
    capacity: m.capacity,
    serviceMs: m.serviceMs,
    startupS: m.startupS,
    min: 1,
    max: 100,
    params,
  });
  try {
    return simulate({ ...run, model: m, policy: p, seriesPoints: 0 }).summary;
  } finally {
    p.policy.close?.();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let traces = Object.keys(BACKTEST_TRACES);
  let arg = 'builtin:predictive';
  const params: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--traces') traces = args[++i]!.split(',');
    else if (a === '--policy') arg = args[++i]!;
    else {
      const eq = a.indexOf('=');
      params[a.slice(0, eq)] = parseValue(a.slice(eq + 1));
    }
  }
  const cacheFile = join(tmpdir(), 'luascale-baselines.json');
  const cache: Record<string, SimulationSummary> = existsSync(cacheFile)
    ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, SimulationSummary>)
    : {};
  for (const name of traces) {
    for (const b of ['builtin:hpa', 'builtin:kpa']) {
      const key = `${name} ${b}`;
      if (!cache[key]) {
        cache[key] = await runOne(name, b);
        writeFileSync(cacheFile, JSON.stringify(cache));
      }
    }
    const t0 = Date.now();
    const s = await runOne(name, arg, params);
    const hpa = cache[`${name} builtin:hpa`]!;
    const kpa = cache[`${name} builtin:kpa`]!;
    const costGoal = Math.max(0.8 * hpa.instance_hours, 1.1 * s.ideal_instance_hours);
    const ok1 = s.instance_hours <= costGoal && s.slo_violation_seconds <= hpa.slo_violation_seconds;
    const ok2 = s.instance_hours <= kpa.instance_hours && s.slo_violation_seconds < kpa.slo_violation_seconds;
    console.log(
      `${name.padEnd(8)} h=${s.instance_hours.toFixed(1)} x hpa ${(s.instance_hours / hpa.instance_hours).toFixed(3)} x kpa ${(s.instance_hours / kpa.instance_hours).toFixed(3)} x ideal ${(s.instance_hours / s.ideal_instance_hours).toFixed(3)} | viol ${s.slo_violation_seconds} (hpa ${hpa.slo_violation_seconds}, kpa ${kpa.slo_violation_seconds}) drop ${Math.round(s.dropped_requests)} util ${s.mean_utilization.toFixed(3)} acts ${s.scale_actions} max ${s.max_replicas} | goal ${ok1 ? 'MET' : 'no'} / kpa ${ok2 ? 'MET' : 'no'} (${((Date.now() - t0) / 1000).toFixed(0)}s)`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
