/** Text renderings of a load run, pure: the summary table, the per-second timeline and the progress line. */
import type { LoadProgress, LoadSummary, TimelineSecond } from './load-generator.js';

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '-');

/** The readable summary table printed by `luascale load`. */
export function formatSummary(s: LoadSummary): string {
  const rows: Array<[string, string]> = [
    ['target', s.url],
    ['pattern', s.pattern],
    ['elapsed', `${fmt(s.elapsedMs / 1000, 2)} s (stopped by ${s.stoppedBy})`],
    ['sent', `${s.sent}  (${fmt(s.offeredRps, 1)} rps offered)`],
    ['ok (2xx/3xx)', `${s.ok}  ${pct(s.ok, s.sent)}`],
    ['429', `${s.status429}  ${pct(s.status429, s.sent)}`],
    ['503', `${s.status503}  ${pct(s.status503, s.sent)}`],
    ['errors', `${s.errors}  ${pct(s.errors, s.sent)}${formatKinds(s.errorKinds)}`],
    ['dropped (max in-flight)', String(s.dropped)],
    ['achieved', `${fmt(s.achievedRps, 1)} rps`],
    [
      'latency p50/p95/p99',
      `${fmt(s.latencyMs.p50, 1)} / ${fmt(s.latencyMs.p95, 1)} / ${fmt(s.latencyMs.p99, 1)} ms`,
    ],
    ['latency mean/max', `${fmt(s.latencyMs.mean, 1)} / ${fmt(s.latencyMs.max, 1)} ms`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

function formatKinds(kinds: Record<string, number>): string {
  const entries = Object.entries(kinds).sort((a, b) => b[1] - a[1]);
  return entries.length ? `  (${entries.map(([k, n]) => `${k}: ${n}`).join(', ')})` : '';
}

/** The per-second timeline as a table with a header. */
export function formatTimeline(timeline: readonly TimelineSecond[]): string {
  const head = ['t', 'target', 'sent', 'ok', '429', '503', 'err', 'drop', 'p50ms', 'p95ms', 'p99ms'];
  const rows = timeline.map((s) => [
    `${s.t}s`,
    fmt(s.targetRps, 1),
    String(s.sent),
    String(s.ok),
    String(s.status429),
    String(s.status503),
    String(s.errors),
    String(s.dropped),
    fmt(s.p50, 1),
    fmt(s.p95, 1),
    fmt(s.p99, 1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n') + '\n';
}

/** One progress line (no newline) for a TTY: a bar, elapsed/total, counts, in-flight and the target rate. */
export function formatProgress(p: LoadProgress, barWidth = 24): string {
  const frac = p.durationMs > 0 ? Math.min(1, p.elapsedMs / p.durationMs) : 1;
  const filled = Math.round(frac * barWidth);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  return `${bar} ${fmt(p.elapsedMs / 1000, 1)}/${fmt(p.durationMs / 1000, 0)}s  sent ${p.sent}  ok ${p.ok}  failed ${p.failed}  in-flight ${p.inFlight}  target ${fmt(p.targetRps, 1)} rps`;
}
