/**
 * How cheap could a policy be on a trace if it knew more than any policy can? Runs an _oracle_
 * through the simulator with the model of docs/backtests.md ("Why not 0.8× on NASA"): a policy
 * that is handed the trace and sizes every row from its smoothed level plus noise headroom,
 * launching `startup` seconds ahead of each row:
 *
 *   L_r   = rps_r × scale / capacity                   (instances' worth in row r)
 *   μ_r   = mean of L over rows r − k … r + k           (centred: it sees k rows into the future)
 *   σ     = sd of (L_r − μ_r) / √μ_r over the trace      (Poisson-like noise grows with √load)
 *   n_r   = ceil((μ_r + z·σ·√μ_r) / u),  u = 0.97, or 0.93 below 5 instances (the M/D/c
 *           utilisation at which one instance still meets a 250 ms p95)
 *   desired at second s = the largest n_r of the rows within [s, s + startup + 1]
 *
 * It knows the level (k = 2: the next two minutes) but not each row's own noise: the part no
 * forecast can know. Prints instance-hours and violation seconds per k and z, beside `hpa`.
 *
 *   nice -n 19 npx tsx scripts/oracle-backtest.ts [nasa|twitter|azure] [k=2,5] [z=1,1.5,2]
 */
import { readTrace, simulate, simulationPolicy } from '../src/simulator/index.js';
import type { Policy } from '../src/policy/policy.js';
import { recommend } from '../src/policy/builtin/outcome.js';
import { BACKTEST_MODEL as model, BACKTEST_TRACES, runOne } from './predictive-backtest.js';

const args = process.argv.slice(2);
const name = args.find((a) => !a.includes('=')) ?? 'nasa';
const list = (key: string, fallback: number[]) => {
  const a = args.find((x) => x.startsWith(`${key}=`));
  return a
    ? a
        .slice(key.length + 1)
        .split(',')
        .map(Number)
    : fallback;
};
const { file, scale } = BACKTEST_TRACES[name]!;
const trace = readTrace(file);
const rowS = trace.stepSeconds;
const load = Array.from(trace.rps, (r) => (r * scale) / model.capacity);
const util = (x: number) => (x >= 5 ? 0.97 : 0.93);

/** Centred means of `load` over ±k rows. */
function centred(k: number): number[] {
  return load.map((_, r) => {
    const from = Math.max(0, r - k);
    const to = Math.min(load.length, r + k + 1);
    let sum = 0;
    for (let i = from; i < to; i++) sum += load[i]!;
    return sum / (to - from);
  });
}

/** The oracle for one k and z: instances per row, then a policy reading them ahead. */
function oracle(k: number, z: number): Policy {
  const mu = centred(k).map((m) => Math.max(m, 0.3));
  let sq = 0;
  for (let r = 0; r < load.length; r++) sq += (load[r]! - mu[r]!) ** 2 / mu[r]!;
  const sigma = Math.sqrt(sq / load.length);
  const rows = mu.map((m) => Math.ceil((m + z * sigma * Math.sqrt(m)) / util(m) - 1e-9));
  const t0 = trace.t[0]!;
  return {
    name: `oracle ±${k} z ${z}`,
    evaluate(ctx) {
      const s = ctx.now / 1000 - t0;
      const first = Math.floor(s / rowS);
      const last = Math.min(rows.length - 1, Math.floor((s + model.startupS + 1) / rowS));
      let n = 0;
      for (let r = Math.max(0, first); r <= last; r++) n = Math.max(n, rows[r]!);
      return recommend(n, 'oracle', { sigma });
    },
  };
}

async function main(): Promise<void> {
  const hpa = await runOne(name, 'builtin:hpa');
  console.log(
    `${name} × ${scale}: hpa ${hpa.instance_hours.toFixed(1)} h, ${hpa.slo_violation_seconds} violation s; ideal ${hpa.ideal_instance_hours.toFixed(1)} h`,
  );
  // the decision core around it is the one predictive runs under (its behaviour hints)
  const shell = await simulationPolicy('builtin:predictive', {
    capacity: model.capacity,
    serviceMs: model.serviceMs,
    startupS: model.startupS,
    min: 1,
    max: 100,
  });
  shell.policy.close?.();
  for (const k of list('k', [2, 5]))
    for (const z of list('z', [1, 1.5, 2])) {
      const s = simulate({
        trace,
        scale,
        model,
        policy: { ...shell, label: `oracle ±${k} z ${z}`, policy: oracle(k, z) },
        seriesPoints: 0,
      }).summary;
      console.log(
        `oracle ±${k} rows, z ${z.toFixed(1)}: ${s.instance_hours.toFixed(1)} h (${(s.instance_hours / hpa.instance_hours).toFixed(3)} × hpa), ${s.slo_violation_seconds} violation s`,
      );
    }
}

await main();
