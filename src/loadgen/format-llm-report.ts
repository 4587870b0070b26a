/** Text renderings of a token-trace replay, pure: the summary table and the progress line. */
import type { LatencySummary } from './latency-histogram.js';
import type { LlmLoadProgress, LlmLoadSummary } from './llm-load.js';

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '-');
const latency = (l: LatencySummary) =>
  `${fmt(l.p50, 1)} / ${fmt(l.p90, 1)} / ${fmt(l.p99, 1)} / ${fmt(l.max, 1)} ms`;

/** The readable summary table printed by `luascale load --llm-trace`. */
export function formatLlmSummary(s: LlmLoadSummary): string {
  const kinds = Object.entries(s.errorKinds).sort((a, b) => b[1] - a[1]);
  const rows: Array<[string, string]> = [
    ['target', `${s.url} (${s.api}, model ${s.model})`],
    ['elapsed', `${fmt(s.elapsedMs / 1000, 2)} s (stopped by ${s.stoppedBy})`],
    ['sent', String(s.sent)],
    ['ok', `${s.ok}  ${pct(s.ok, s.sent)}`],
    [
      'errors',
      `${s.errors}  ${pct(s.errors, s.sent)}${kinds.length ? `  (${kinds.map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`,
    ],
    ['dropped (max in-flight)', String(s.dropped)],
    ['throughput', `${fmt(s.requestsPerS, 2)} req/s, ${fmt(s.outputTokensPerS, 1)} output tokens/s`],
    ['TTFT p50/p90/p99/max', latency(s.ttftMs)],
    ['ITL p50/p90/p99/max', latency(s.itlMs)],
    ['TPOT p50/p90/p99/max', latency(s.tpotMs)],
    ['end to end p50/p90/p99/max', latency(s.e2eMs)],
    ['prompt tokens sent / reported (ok)', `${s.tokens.promptSent} / ${s.tokens.prompt}`],
    ['max_tokens sent / output reported (ok)', `${s.tokens.maxOutput} / ${s.tokens.output}`],
  ];
  if (s.tokens.withoutUsage > 0) rows.push(['ok without usage', String(s.tokens.withoutUsage)]);
  for (const [kind, message] of Object.entries(s.errorSamples)) rows.push([`first ${kind}`, message]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

/** One progress line (no newline) for a TTY. */
export function formatLlmProgress(p: LlmLoadProgress, barWidth = 24): string {
  const frac = p.durationMs > 0 ? Math.min(1, p.elapsedMs / p.durationMs) : 1;
  const filled = Math.round(frac * barWidth);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  return `${bar} ${fmt(p.elapsedMs / 1000, 1)}/${fmt(p.durationMs / 1000, 0)}s  sent ${p.sent}  ok ${p.ok}  failed ${p.failed}  in-flight ${p.inFlight}  output tokens ${p.outputTokens}`;
}
