/**
 * Prints one trace's results section of docs/backtests.md from `luascale simulate --compare ...
 * --json` output (JSON Lines on stdin): the table, the ideal and the goal line for `predictive`.
 *
 *   npx tsx scripts/backtest-table.ts "nasa-1995-07-per-minute.csv × 300" < nasa.jsonl
 */
import { readFileSync } from 'node:fs';
import type { SimulationSummary } from '../src/simulator/index.js';

const title = process.argv[2] ?? 'trace';
const rows = readFileSync(0, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as SimulationSummary);
const hpa = rows.find((r) => r.policy === 'builtin:hpa')!;
const kpa = rows.find((r) => r.policy === 'builtin:kpa')!;
const pred = rows.find((r) => r.policy === 'builtin:predictive')!;
const ideal = pred.ideal_instance_hours;
const n = (x: number, d = 0) =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const h = (x: number) => n(x, x < 20 ? 2 : 1);
const total = pred.total_requests;
const out: string[] = [];
out.push(`### \`${title}\``, '');
out.push(
  `Ideal (perfect, instant packing at 100 %): **${h(ideal)} instance-hours**. ${n(total)} requests over ${n(pred.seconds / 86400, 2)} days.`,
  '',
);
out.push(
  '| policy | instance-hours | × hpa | × ideal | SLO-violation s | dropped | p95 ms | scale actions | max | util | θU % | θO % | τU % | τO % |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
);
for (const r of rows) {
  const name = r.policy === 'builtin:predictive' ? `**\`${r.policy}\`**` : `\`${r.policy}\``;
  out.push(
    `| ${name} | ${h(r.instance_hours)} | ${n(r.instance_hours / hpa.instance_hours, 2)} | ${n(r.instance_hours / ideal, 2)} | ${n(r.slo_violation_seconds)} | ${n(Math.round(r.dropped_requests))} | ${n(r.p95_ms)} | ${n(r.scale_actions)} | ${r.max_replicas} | ${n(r.mean_utilization, 2)} | ${n(r.under_provisioning_accuracy, 2)} | ${n(r.over_provisioning_accuracy, 1)} | ${n(r.under_provisioning_timeshare, 2)} | ${n(r.over_provisioning_timeshare, 1)} |`,
  );
}
const goal = Math.max(0.8 * hpa.instance_hours, 1.1 * ideal);
const which = 0.8 * hpa.instance_hours >= 1.1 * ideal ? '0.8 × hpa' : '1.1 × ideal';
const met = (ok: boolean) => (ok ? 'met' : '**not met**');
out.push(
  '',
  `Goal for \`predictive\`: cost ≤ ${h(goal)} h (${which}): ${met(pred.instance_hours <= goal)} (${h(pred.instance_hours)}, ${n(pred.instance_hours / hpa.instance_hours, 3)} × hpa); ` +
    `violations ≤ hpa's ${n(hpa.slo_violation_seconds)}: ${met(pred.slo_violation_seconds <= hpa.slo_violation_seconds)} (${n(pred.slo_violation_seconds)}); ` +
    `fewer violations than kpa (${n(kpa.slo_violation_seconds)}) at no more cost (${h(kpa.instance_hours)} h): ${met(pred.slo_violation_seconds < kpa.slo_violation_seconds && pred.instance_hours <= kpa.instance_hours)}.`,
);
console.log(out.join('\n'));
