import type { Trace } from '../../simulator/trace.js';
import type { ModelParams, SimulationSummary } from '../../simulator/simulate.js';

/** The default output: one row per field, one column per policy, aligned. */
export function formatTable(
  trace: Trace,
  scale: number,
  model: ModelParams,
  rows: SimulationSummary[],
): string {
  const fields: Array<[keyof SimulationSummary, string]> = [
    ['instance_hours', 'instance-hours'],
    ['ideal_instance_hours', 'ideal instance-hours'],
    ['slo_violation_seconds', 'SLO-violation seconds'],
    ['dropped_requests', 'dropped requests'],
    ['total_requests', 'total requests'],
    ['p95_ms', 'p95 ms'],
    ['scale_actions', 'scale actions'],
    ['max_replicas', 'max replicas'],
    ['mean_utilization', 'mean utilisation'],
    ['under_provisioning_accuracy', 'θU under-prov. accuracy %'],
    ['over_provisioning_accuracy', 'θO over-prov. accuracy %'],
    ['under_provisioning_timeshare', 'τU under-prov. timeshare %'],
    ['over_provisioning_timeshare', 'τO over-prov. timeshare %'],
    ['decisions', 'decisions'],
    ['policy_errors', 'policy errors'],
  ];
  const table: string[][] = [['', ...rows.map((r) => r.policy)]];
  // Token traces add their own figures first (src/simulator/token-simulate.ts).
  const tokenRows: Array<[string, string]> = [
    ['replica_hours', 'replica-hours'],
    ['ttft_slo_violation_seconds', 'TTFT-SLO-violation seconds'],
    ['ttft_p50_ms', 'TTFT p50 ms'],
    ['ttft_p95_ms', 'TTFT p95 ms'],
    ['ttft_p99_ms', 'TTFT p99 ms'],
    ['tokens_served', 'tokens served'],
    ['requests_dropped', 'requests dropped'],
  ];
  const get = (r: SimulationSummary, k: string) => (r as unknown as Record<string, unknown>)[k];
  for (const [key, label] of tokenRows)
    if (rows.some((r) => get(r, key) !== undefined))
      table.push([label, ...rows.map((r) => fmt(get(r, key)))]);
  for (const [key, label] of fields) table.push([label, ...rows.map((r) => fmt(r[key]))]);
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  const tokens = rows.some((r) => get(r, 'ttft_slo_ms') !== undefined);
  const header =
    (tokens
      ? `${trace.file}: token trace, ${(trace.durationSeconds / 3600).toFixed(2)} h, × ${scale}; TTFT SLO p95 ${model.sloP95Ms} ms; `
      : `${trace.file}: ${(trace.durationSeconds / 86_400).toFixed(2)} days at ${trace.stepSeconds} s, × ${scale}; `) +
    `capacity ${model.capacity} req/s, service ${model.serviceMs} ms, startup ${model.startupS} s, ` +
    `queue timeout ${model.queueTimeoutS} s, SLO p95 ${model.sloP95Ms} ms\n`;
  return header + lines.join('\n') + '\n';
}

function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) < 10 ? 3 : 1 });
}
