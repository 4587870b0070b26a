/**
 * `--report out.html`: one self-contained HTML file (uPlot's JS and CSS inlined, data embedded as
 * JSON, no network) with the run's parameters, the summary table and four charts: load offered
 * vs capacity, replicas desired/ready, p95 vs the SLO, and drops. With several policies the table
 * compares them side by side and every chart overlays them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LuascaleError } from '../core/errors.js';
import type { ModelParams, SimulationResult } from './simulate.js';

/** What the report describes besides the results. */
export interface ReportInput {
  title?: string;
  trace: { file: string; stepSeconds: number; durationSeconds: number; gaps: number };
  scale: number;
  seed?: number;
  /** Epoch ms of t = 0 (`--start`); when set, the time axis shows UTC dates instead of elapsed time. */
  startMs?: number;
  model: ModelParams;
  /** One entry per policy, in the order given. */
  runs: Array<{ result: SimulationResult; intervalMs: number; min: number; max: number }>;
  /** When the report was made (shown, not used for anything). */
  generatedAt?: Date;
}

/** Rows of the summary table: field, label, digits, and whether lower is better. */
const ROWS: Array<[keyof SimulationResult['summary'], string, number, 'low' | 'high' | null]> = [
  ['instance_hours', 'Instance-hours (billed)', 1, 'low'],
  ['ideal_instance_hours', 'Ideal instance-hours (100 %, instant)', 1, null],
  ['slo_violation_seconds', 'SLO-violation seconds', 0, 'low'],
  ['dropped_requests', 'Dropped requests', 0, 'low'],
  ['total_requests', 'Total requests', 0, null],
  ['p95_ms', 'p95 latency, ms (whole run)', 1, 'low'],
  ['scale_actions', 'Scale actions', 0, 'low'],
  ['max_replicas', 'Max replicas', 0, null],
  ['mean_utilization', 'Mean utilisation of ready capacity', 3, 'high'],
  ['under_provisioning_accuracy', 'Under-provisioning accuracy θU, %', 2, 'low'],
  ['over_provisioning_accuracy', 'Over-provisioning accuracy θO, %', 2, 'low'],
  ['under_provisioning_timeshare', 'Under-provisioning timeshare τU, %', 2, 'low'],
  ['over_provisioning_timeshare', 'Over-provisioning timeshare τO, %', 2, 'low'],
  ['decisions', 'Decisions', 0, null],
  ['policy_errors', 'Policy errors', 0, 'low'],
];

/** Reads uPlot's browser build and stylesheet from node_modules (they are inlined, never linked). */
export function uplotAssets(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  try {
    const main = require.resolve('uplot');
    const dir = main.slice(0, main.lastIndexOf('/'));
    return {
      js: readFileSync(`${dir}/uPlot.iife.min.js`, 'utf8'),
      css: readFileSync(`${dir}/uPlot.min.css`, 'utf8'),
    };
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: '--report',
      reason: `the uplot package is needed for reports and could not be read (${(err as Error).message}); run npm install`,
    });
  }
}

/** Renders the report as one HTML string. */
export function renderReport(input: ReportInput): string {
  const { js, css } = uplotAssets();
  const runs = input.runs;
  const title = input.title ?? `luascale simulate: ${basename(input.trace.file)}`;
  const first = runs[0]?.result.series;
  const data = {
    slo: input.model.sloP95Ms,
    startMs: input.startMs ?? 0,
    capacity: input.model.capacity,
    bucketS: first?.bucketS ?? 1,
    t: first?.t ?? [],
    offered: first?.offered ?? [],
    policies: runs.map((r) => ({
      label: r.result.summary.policy,
      capacity: r.result.series?.capacity ?? [],
      ready: r.result.series?.ready ?? [],
      desired: r.result.series?.desired ?? [],
      billed: r.result.series?.billed ?? [],
      p95: r.result.series?.p95 ?? [],
      dropped: r.result.series?.dropped ?? [],
    })),
  };
  const m = input.model;
  const params: Array<[string, string]> = [
    [
      'Trace',
      input.trace.stepSeconds < 1 // a token trace (token-run.ts): one row per request, no buckets to hold
        ? `${esc(input.trace.file)} (one row per request, ${fmtDuration(input.trace.durationSeconds)})`
        : `${esc(input.trace.file)} (${input.trace.stepSeconds} s rows, ${fmtDuration(input.trace.durationSeconds)}, ${input.trace.gaps} gap(s) held at the last value)`,
    ],
    ['Scale', `× ${input.scale}`],
    [
      'Time axis',
      input.startMs
        ? `UTC, t = 0 at ${new Date(input.startMs).toISOString()}`
        : 'elapsed since t = 0 (days, hh:mm)',
    ],
    [
      'Arrivals',
      input.seed === undefined
        ? 'deterministic (each bucket spread evenly over its seconds)'
        : `Poisson, seed ${input.seed}`,
    ],
    ['Capacity', `${m.capacity} req/s per instance at 100 % CPU`],
    ['Service time', `${m.serviceMs} ms base latency`],
    ['Startup', `${m.startupS} s from launch to ready`],
    ['Queue timeout', `${m.queueTimeoutS} s`],
    ['SLO', `p95 ≤ ${m.sloP95Ms} ms, no drops`],
    ['Chart resolution', `${data.bucketS} s per point (p95: worst second; others: mean)`],
  ];
  const head = `<tr><th></th>${runs.map((r) => `<th>${esc(r.result.summary.policy)}</th>`).join('')}</tr>`;
  const settings = `<tr><td>Interval, min–max</td>${runs.map((r) => `<td>${r.intervalMs / 1000} s, ${r.min}–${r.max}</td>`).join('')}</tr>`;
  const body = ROWS.map(([key, label, digits, better]) => {
    const values = runs.map((r) => Number(r.result.summary[key]));
    const best =
      better && runs.length > 1 ? (better === 'low' ? Math.min(...values) : Math.max(...values)) : undefined;
    const cells = values
      .map(
        (v) => `<td${best !== undefined && v === best ? ' class="best"' : ''}>${fmtNumber(v, digits)}</td>`,
      )
      .join('');
    return `<tr><td>${label}</td>${cells}</tr>`;
  }).join('\n');
  const warnings = runs.flatMap((r) => r.result.warnings.map((w) => `${r.result.summary.policy}: ${w}`));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="luascale simulate">
<title>${esc(title)}</title>
<style>${css}</style>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#57606a;margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f6f8fa}
td.best{background:#dafbe1;font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:#57606a}dd{margin:0}
.chart{margin:8px 0 4px}.note{color:#57606a;font-size:12px;margin:0 0 12px}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px}
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="sub">${runs.length === 1 ? 'One policy' : `${runs.length} policies`} replayed second by second through luascale's decision core${input.generatedAt ? `, ${esc(input.generatedAt.toISOString())}` : ''}.</p>
${warnings.length ? `<p class="warn">${warnings.map(esc).join('<br>')}</p>` : ''}
<h2>Model</h2>
<dl>${params.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<h2>Summary</h2>
<table id="summary">
${head}
${settings}
${body}
</table>
<h2>Load offered vs capacity</h2><div class="chart" id="chart-load"></div>
<p class="note">Offered requests per second against the ready capacity (ready instances × capacity).</p>
<h2>Replicas</h2><div class="chart" id="chart-replicas"></div>
<p class="note">Ready instances (solid) and the desired count the decisions asked for (dashed).</p>
<h2>p95 latency vs SLO</h2><div class="chart" id="chart-p95"></div>
<p class="note">Worst per-second p95 in each point, log scale; the red line is the SLO.</p>
<h2>Dropped requests</h2><div class="chart" id="chart-drops"></div>
<p class="note">Requests per second that waited longer than the queue timeout.</p>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script id="data" type="application/json">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>
${CLIENT}
</script>
</body>
</html>
`;
}

/** The in-page script: builds the four uPlot charts from the embedded data. */
const CLIENT = String.raw`
(function () {
  var D = JSON.parse(document.getElementById('data').textContent);
  var COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#0550ae', '#bf3989', '#4d2d00'];
  function elapsed(s) {
    if (D.startMs) return new Date(D.startMs + s * 1000).toISOString().slice(5, 16).replace('T', ' ');
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var hm = (h < 10 ? '0' : '') + h + ':' + (m < 10 ? '0' : '') + m;
    return d > 0 ? d + 'd ' + hm : hm;
  }
  function width() { return Math.max(480, Math.min(1168, document.body.clientWidth - 32)); }
  var charts = [];
  function chart(id, series, data, opts) {
    var el = document.getElementById(id);
    var o = {
      width: width(),
      height: 260,
      scales: { x: { time: false }, y: opts.log ? { distr: 3 } : { range: function (u, min, max) { return [0, max > 0 ? max * 1.05 : 1]; } } },
      axes: [
        { space: D.startMs ? 110 : 70, values: function (u, ticks) { return ticks.map(elapsed); } },
        { label: opts.ylabel, size: 60 }
      ],
      legend: { live: true },
      series: [{ label: 'time', value: function (u, v) { return v == null ? '' : elapsed(v); } }].concat(series)
    };
    charts.push(new uPlot(o, data, el));
  }
  var multi = D.policies.length > 1;
  var t = D.t;
  // load
  var s1 = [{ label: 'offered req/s', stroke: '#57606a', fill: 'rgba(87,96,106,0.12)', width: 1 }];
  var d1 = [t, D.offered];
  D.policies.forEach(function (p, i) {
    s1.push({ label: (multi ? p.label + ' ' : '') + 'capacity req/s', stroke: COLORS[i % COLORS.length], width: 1.5 });
    d1.push(p.capacity);
  });
  chart('chart-load', s1, d1, { ylabel: 'req/s' });
  // replicas
  var s2 = [], d2 = [t];
  D.policies.forEach(function (p, i) {
    var c = COLORS[i % COLORS.length];
    s2.push({ label: (multi ? p.label + ' ' : '') + 'ready', stroke: c, width: 1.5 });
    d2.push(p.ready);
    s2.push({ label: (multi ? p.label + ' ' : '') + 'desired', stroke: c, dash: [6, 4], width: 1 });
    d2.push(p.desired);
  });
  chart('chart-replicas', s2, d2, { ylabel: 'instances' });
  // p95
  var s3 = [], d3 = [t];
  D.policies.forEach(function (p, i) {
    s3.push({ label: (multi ? p.label + ' ' : '') + 'p95 ms', stroke: COLORS[i % COLORS.length], width: 1 });
    d3.push(p.p95.map(function (v) { return v > 0 ? v : null; }));
  });
  s3.push({ label: 'SLO ' + D.slo + ' ms', stroke: '#cf222e', dash: [4, 4], width: 1.5 });
  d3.push(t.map(function () { return D.slo; }));
  chart('chart-p95', s3, d3, { ylabel: 'ms', log: true });
  // drops
  var s4 = [], d4 = [t];
  D.policies.forEach(function (p, i) {
    s4.push({ label: (multi ? p.label + ' ' : '') + 'dropped req/s', stroke: COLORS[i % COLORS.length], fill: multi ? undefined : 'rgba(207,34,46,0.15)', width: 1 });
    d4.push(p.dropped);
  });
  chart('chart-drops', s4, d4, { ylabel: 'req/s' });
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.setSize({ width: width(), height: 260 }); }); });
  document.body.setAttribute('data-charts', String(charts.length));
})();
`;

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function fmtNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtDuration(s: number): string {
  if (s >= 86_400) return `${(s / 86_400).toFixed(2)} days`;
  if (s >= 3600) return `${(s / 3600).toFixed(2)} h`;
  return `${s} s`;
}
