/**
 * Simulator speed (issue 5): a 30-day per-minute trace with a Lua policy (goal ≤ 2 s) and a
 * 1-day per-second trace (goal ≤ 3 s). Traces are synthesised here (diurnal + weekly cycle,
 * seeded noise and bursts) so the bench needs no shared data. Each figure is wall time for
 * parse + simulate; CPU time is reported beside it because this machine is shared.
 */
import { resolve } from 'node:path';
import type { Emit } from './run.js';
import { parseTrace } from '../src/simulator/trace.js';
import { simulate } from '../src/simulator/simulate.js';
import { simulationPolicy } from '../src/simulator/simulation-policy.js';
import { seededRandom } from '../src/simulator/random.js';

const SEED_POLICY = resolve(import.meta.dirname, '../examples/policies/seed-cpu.lua');
const model = { capacity: 100, serviceMs: 50, startupS: 30, queueTimeoutS: 30, sloP95Ms: 250, drainS: 1 };

/** A synthetic trace: `days` days at `step` s, peak about 2000 req/s (20 instances of 100). */
function synthTrace(days: number, step: number, seed: number): string {
  const random = seededRandom(seed);
  const rows = ['t,rps'];
  let burst = 0;
  for (let t = 0; t < days * 86_400; t += step) {
    const day = 0.5 - 0.5 * Math.cos((2 * Math.PI * (t % 86_400)) / 86_400); // trough at midnight
    const weekend = Math.floor(t / 86_400) % 7 >= 5 ? 0.6 : 1;
    if (burst <= 0 && random() < step / 7200) burst = 600 / step; // a burst every ~2 h, 10 min long
    const b = burst-- > 0 ? 1.6 : 1;
    const rps = (200 + 1500 * day * weekend) * b * (0.9 + 0.2 * random());
    rows.push(`${t},${rps.toFixed(2)}`);
  }
  return rows.join('\n') + '\n';
}

async function run(
  emit: Emit,
  name: string,
  text: string,
  policyArg: string,
  intervalMs: number | undefined,
  goalMs: number,
) {
  const policy = await simulationPolicy(policyArg, {
    capacity: 100,
    serviceMs: 50,
    startupS: 30,
    min: 1,
    max: 100,
    intervalMs,
  });
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const trace = parseTrace(text, 'synthetic.csv');
    const r = simulate({ trace, model, policy, seriesPoints: 1500 });
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    emit({
      name,
      value: Math.round(wall),
      unit: 'ms',
      goal_ms: goalMs,
      cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      policy: policyArg.startsWith('builtin:') ? policyArg : 'examples/policies/seed-cpu.lua',
      interval_s: policy.intervalMs / 1000,
      simulated_seconds: r.summary.seconds,
      decisions: r.summary.decisions,
      ns_per_simulated_second: Math.round((wall * 1e6) / r.summary.seconds),
      us_per_decision_incl_model: Math.round(((wall * 1000) / Math.max(1, r.summary.decisions)) * 10) / 10,
    });
  } finally {
    policy.policy.close?.();
  }
}

/** Runs the simulator benchmarks. */
export default async function (emit: Emit): Promise<void> {
  const month = synthTrace(30, 60, 1);
  const day = synthTrace(1, 1, 2);
  // Lua at a 15 s decision interval (the HPA's sync period): the figure
  await run(
    emit,
    'simulate 30-day per-minute trace, Lua policy every 15 s',
    month,
    SEED_POLICY,
    15_000,
    2000,
  );
  // peers from the same run: the same trace at a 60 s interval and with the hpa built-in
  await run(
    emit,
    'simulate 30-day per-minute trace, Lua policy every 60 s',
    month,
    SEED_POLICY,
    60_000,
    2000,
  );
  await run(
    emit,
    'simulate 30-day per-minute trace, builtin:hpa (15 s)',
    month,
    'builtin:hpa',
    undefined,
    2000,
  );
  await run(emit, 'simulate 1-day per-second trace, Lua policy every 1 s', day, SEED_POLICY, 1000, 3000);
  await run(emit, 'simulate 1-day per-second trace, builtin:hpa (15 s)', day, 'builtin:hpa', undefined, 3000);
}
