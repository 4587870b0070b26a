/**
 * Does `predictive` hold up on traces its defaults were not tuned on? Derives six traces from the
 * three shared ones (coarser rows, reversed time, the second half) and runs `hpa`, `kpa` and
 * `predictive` on each with the backtest model of docs/backtests.md, at a scale where the peak
 * needs about 20 instances (2,000 req/s), with the issue-5 goal verdicts.
 *
 *   nice -n 19 npx tsx scripts/robustness-backtest.ts
 */
import { readTrace, type SimulationSummary } from '../src/simulator/index.js';
import { coarser, half, reversed, toTrace } from './derived-traces.js';
import { BACKTEST_TRACES, runOn } from './predictive-backtest.js';

/** Rows of a trace file as [t, rps] (a parsed trace, so gaps stay gaps). */
function rows(name: string): Array<[number, number]> {
  const t = readTrace(BACKTEST_TRACES[name]!.file);
  return Array.from(t.t, (x, i) => [x, t.rps[i]!]);
}

const VARIANTS: Array<[string, () => Array<[number, number]>]> = [
  ['NASA, 5-minute rows', () => coarser(rows('nasa'), 300)],
  ['NASA, second half', () => half(rows('nasa'), 1)],
  ['Twitter, 10-minute rows', () => coarser(rows('twitter'), 600)],
  ['Twitter, reversed', () => reversed(rows('twitter'))],
  ['Azure, 10-second rows', () => coarser(rows('azure'), 10)],
  ['Azure, reversed', () => reversed(rows('azure'))],
];

async function main(): Promise<void> {
  console.log(
    '| trace | scale | ideal IH | `hpa` IH / viol. s | `kpa` IH / viol. s | `predictive` IH / viol. s | × `hpa` | goal | vs `kpa` |',
  );
  console.log('|---|--:|--:|--:|--:|--:|--:|---|---|');
  for (const [name, make] of VARIANTS) {
    const trace = toTrace(name, make());
    let max = 0;
    for (const v of trace.rps) max = Math.max(max, v);
    const scale = Math.round((2000 / max) * 100) / 100;
    const hpa = await runOn({ trace, scale }, 'builtin:hpa');
    const kpa = await runOn({ trace, scale }, 'builtin:kpa');
    const pred = await runOn({ trace, scale }, 'builtin:predictive');
    const goal = Math.max(0.8 * hpa.instance_hours, 1.1 * pred.ideal_instance_hours);
    const met = pred.instance_hours <= goal && pred.slo_violation_seconds <= hpa.slo_violation_seconds;
    const beatsKpa =
      pred.instance_hours <= kpa.instance_hours && pred.slo_violation_seconds < kpa.slo_violation_seconds;
    const f = (s: SimulationSummary) =>
      `${s.instance_hours.toLocaleString('en-US', { maximumFractionDigits: s.instance_hours < 100 ? 2 : 0 })} / ${s.slo_violation_seconds.toLocaleString('en-US')}`;
    console.log(
      `| ${name} | ${scale} | ${pred.ideal_instance_hours.toLocaleString('en-US', { maximumFractionDigits: 1 })} | ${f(hpa)} | ${f(kpa)} | ${f(pred)} | ${(pred.instance_hours / hpa.instance_hours).toFixed(3)} | ${met ? 'met' : '**no**'} | ${beatsKpa ? 'met' : '**no**'} |`,
    );
  }
}

await main();
