/**
 * Leave-one-family-out cross-validation of `predictive`'s guard defaults (issue 22; protocol in
 * docs/backtests.md, "Cross-validation"). Runs `hpa`, `kpa` and every candidate setting of
 * `predictive` on the derived traces of scripts/derived-traces.ts with the backtest model, then
 * for each family (NASA, Twitter, Azure) picks the candidate from the other two families' traces
 * alone and reports how that choice does on the held-out family's traces. Prints the held-out and
 * the in-sample tables as Markdown and writes two SVG charts.
 *
 *   nice -n 19 npx tsx scripts/predictive-cv.ts [--svg docs/img] [--budget-s 1800] [--json out.json]
 *     [--cache DIR] [--only NAME,NAME] [--traces NAME,NAME]
 *
 * Bounded: candidates past --budget-s (default 30 min of wall time) are skipped and named.
 * `--cache DIR` keeps each run's summary in DIR/<policy>.json and reuses it (delete DIR after a
 * change to the simulator or the policy), so two processes with `--only` can share the work and a
 * third one prints the tables.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulationSummary } from '../src/simulator/index.js';
import { runOn } from './predictive-backtest.js';
import { build, DERIVED, type DerivedTrace } from './derived-traces.js';

/**
 * The candidates: the guard as issue 22's first round left it (`guard_utilization` 0.7, `coverage`
 * 0.995, no risk budget), and with the risk budget (predictive-risk-budget.ts) at two shares
 * (`risk_share`) of a shadow HPA's over-capacity seconds, two knees (`risk_knee`: a second counts
 * above 95 % or 100 % of the ready capacity) and two top utilisations (`guard_utilization_max`);
 * all of these with the guard's HPA-style rule following every surge (`guard_follow: false`, the
 * third round's behaviour), and the third round's default with `guard_follow` (the fourth round:
 * surges above the burst level followed as the other answers follow them). (The first round also
 * ran the policy without the guard, `coverage` 0.99 and `guard_utilization` 0.8: never chosen held
 * out, and 1.1–2.6× `hpa`'s violations on some traces; docs/backtests.md keeps their numbers.)
 */
const R3 = { guard_follow: false };
/**
 * The fifth round: the calibrated bound's misses come in runs (a rise that outgrows the fleet is a
 * miss for every tick whose horizon it falls in, up to a startup time of them), so a step of 0.05
 * per miss lifts q by up to 1.5 per event and the guard's S was above R on every trace. Candidates:
 * a smaller step (`coverage_step` 0.01 and 0.02), and scoring each tick by the load when its
 * horizon ends (`coverage_score: end`: each second scored once, by the decision that had to
 * provision for it).
 */
const R5: Array<[string, Record<string, unknown>]> = [
  ['cs0.01', { coverage_step: 0.01 }],
  ['end', { coverage_score: 'end' }],
  ['cs0.01 end', { coverage_step: 0.01, coverage_score: 'end' }],
  ['cs0.02 end', { coverage_step: 0.02, coverage_score: 'end' }],
];
export const CANDIDATES: Array<{ name: string; params: Record<string, unknown> }> = [
  { name: 'no budget', params: { ...R3, risk_share: 0 } },
  { name: 'b0.8 k0.95', params: { ...R3, risk_share: 0.8, risk_knee: 0.95 } },
  { name: 'b0.9 k0.95', params: { ...R3, risk_share: 0.9, risk_knee: 0.95 } },
  {
    name: 'b0.8 k0.95 u0.9',
    params: { ...R3, risk_share: 0.8, risk_knee: 0.95, guard_utilization_max: 0.9 },
  },
  { name: 'b0.8 k1', params: { ...R3, risk_share: 0.8, risk_knee: 1 } },
  { name: 'b0.8 k1 gf', params: { risk_share: 0.8, risk_knee: 1, guard_follow: true } },
  ...R5.map(([name, extra]) => ({
    name: `gf ${name}`,
    params: { risk_share: 0.8, risk_knee: 1, guard_follow: true, ...extra },
  })),
];

/** The issue-22 goal on one trace: no more violation seconds than hpa at ≤ 0.9× its instance-hours. */
export const COST_GOAL = 0.9;

/** Runs one policy on one derived trace with the backtest model. */
export async function runDerived(
  d: DerivedTrace,
  arg: string,
  params: Record<string, unknown> = {},
): Promise<SimulationSummary> {
  return runOn({ ...build(d), seed: d.seed }, arg, params);
}

type Cache = Record<string, SimulationSummary>;

interface Row {
  trace: DerivedTrace;
  hpa: SimulationSummary;
  kpa: SimulationSummary;
  /** Per candidate name; missing when the budget ran out. */
  pred: Record<string, SimulationSummary>;
}

const cost = (r: Row, c: string) => r.pred[c]!.instance_hours / r.hpa.instance_hours;
const met = (r: Row, c: string) =>
  cost(r, c) <= COST_GOAL && r.pred[c]!.slo_violation_seconds <= r.hpa.slo_violation_seconds;
const safe = (r: Row, c: string) => r.pred[c]!.slo_violation_seconds <= r.hpa.slo_violation_seconds;

/**
 * The candidate the training rows choose: most traces with no more violation seconds than hpa
 * (the issue's "safe to switch to" comes first), then most traces meeting the goal, then the
 * lowest mean cost ratio.
 */
export function choose(rows: Row[], names: string[]): string {
  const score = (c: string) => [
    rows.filter((r) => safe(r, c)).length,
    rows.filter((r) => met(r, c)).length,
    -rows.reduce((s, r) => s + cost(r, c), 0) / rows.length,
  ];
  return names.reduce((best, c) => {
    const a = score(c);
    const b = score(best);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]! ? c : best;
    return best;
  });
}

const ih = (s: SimulationSummary) =>
  s.instance_hours.toLocaleString('en-US', { maximumFractionDigits: s.instance_hours < 100 ? 2 : 1 });
const pair = (s: SimulationSummary) => `${ih(s)} / ${s.slo_violation_seconds.toLocaleString('en-US')}`;

/** A bar chart of one ratio per trace (held out), with a reference line. */
function svgBars(title: string, rows: Array<{ label: string; value: number }>, ref: number): string {
  const w = 760;
  const bh = 18;
  const left = 230;
  const h = 40 + rows.length * (bh + 6) + 20;
  const max = Math.max(ref * 1.25, ...rows.map((r) => r.value));
  const x = (v: number) => left + ((w - left - 60) * v) / max;
  const bars = rows
    .map((r, i) => {
      const y = 34 + i * (bh + 6);
      const bad = r.value > ref + 1e-9;
      return (
        `<text x="${left - 6}" y="${y + 13}" text-anchor="end" font-size="12">${r.label}</text>` +
        `<rect x="${left}" y="${y}" width="${Math.max(1, x(r.value) - left).toFixed(1)}" height="${bh}" fill="${bad ? '#d9534f' : '#4a90d9'}"/>` +
        `<text x="${(x(r.value) + 4).toFixed(1)}" y="${y + 13}" font-size="12">${r.value.toFixed(2)}</text>`
      );
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">${title}</text>
${bars}
<line x1="${x(ref).toFixed(1)}" y1="28" x2="${x(ref).toFixed(1)}" y2="${h - 14}" stroke="black" stroke-dasharray="4 3"/>
<text x="${x(ref).toFixed(1)}" y="${h - 2}" font-size="11" text-anchor="middle">goal ${ref}</text>
</svg>
`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const budgetMs = Number(opt('--budget-s') ?? 1800) * 1000;
  const svgDir = opt('--svg');
  const cacheDir = opt('--cache');
  const only = opt('--only')?.split(',');
  // run (and cache) only these traces: splits one candidate over processes; a run without it prints
  const traces = opt('--traces')?.split(',');
  const t0 = Date.now();
  const run = async (d: DerivedTrace, key: string, params?: Record<string, unknown>) => {
    const file = cacheDir && join(cacheDir, `${key.replace(/[^\w.-]+/g, '_')}.json`);
    const cached = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Cache) : {};
    if (cached[d.name]) return cached[d.name]!;
    const s = await runDerived(d, params ? 'builtin:predictive' : key, params);
    if (file) {
      const now = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Cache) : {};
      writeFileSync(file, JSON.stringify({ ...now, [d.name]: s }));
    }
    return s;
  };
  const rows: Row[] = [];
  for (const d of DERIVED) {
    if (traces && !traces.includes(d.name)) continue;
    const hpa = await run(d, 'builtin:hpa');
    const kpa = await run(d, 'builtin:kpa');
    rows.push({ trace: d, hpa, kpa, pred: {} });
  }
  const done: string[] = [];
  for (const c of CANDIDATES) {
    if (only && !only.includes(c.name)) continue;
    if (Date.now() - t0 > budgetMs) {
      console.error(`budget spent: ${c.name} not run`);
      continue;
    }
    for (const r of rows) r.pred[c.name] = await run(r.trace, c.name, c.params);
    done.push(c.name);
    console.error(`${c.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const json = opt('--json');
  if (json) writeFileSync(json, JSON.stringify(rows, null, 1));

  // held out: each family's traces under the candidate the other families chose
  const families = [...new Set(rows.map((r) => r.trace.source))];
  const held: Array<{ r: Row; c: string }> = [];
  for (const f of families) {
    const c = choose(
      rows.filter((r) => r.trace.source !== f),
      done,
    );
    for (const r of rows.filter((x) => x.trace.source === f)) held.push({ r, c });
  }
  console.log('Held out (leave one family out):\n');
  console.log(
    '| fold (held out) | trace | chosen on the other families | `hpa` IH / viol. s | `kpa` IH / viol. s | `predictive` IH / viol. s | × `hpa` cost | viol. vs `hpa` | goal |',
  );
  console.log('| --- | --- | --- | --: | --: | --: | --: | --: | --- |');
  for (const { r, c } of held) {
    const p = r.pred[c]!;
    console.log(
      `| ${r.trace.source} | ${r.trace.name} (${r.trace.how}) | ${c} | ${pair(r.hpa)} | ${pair(r.kpa)} | ${pair(p)} | ${cost(r, c).toFixed(3)} | ${p.slo_violation_seconds} vs ${r.hpa.slo_violation_seconds} | ${met(r, c) ? 'met' : '**no**'} |`,
    );
  }
  const all = choose(rows, done);
  console.log(`\nIn sample (every candidate on every trace; chosen on all traces: ${all}):\n`);
  console.log(`| trace | ${done.map((c) => `${c}: × hpa / viol. (hpa)`).join(' | ')} |`);
  console.log(`| --- | ${done.map(() => '--:').join(' | ')} |`);
  for (const r of rows)
    console.log(
      `| ${r.trace.name} | ${done.map((c) => `${cost(r, c).toFixed(3)} / ${r.pred[c]!.slo_violation_seconds} (${r.hpa.slo_violation_seconds})${met(r, c) ? '' : ' ✗'}`).join(' | ')} |`,
    );
  console.log(
    `| traces meeting the goal | ${done.map((c) => `${rows.filter((r) => met(r, c)).length} of ${rows.length}`).join(' | ')} |`,
  );
  if (svgDir) {
    const labels = held.map(({ r }) => r.trace.name);
    writeFileSync(
      join(svgDir, 'cv-heldout-cost.svg'),
      svgBars(
        'Held out: predictive instance-hours ÷ hpa',
        held.map(({ r, c }, i) => ({ label: labels[i]!, value: cost(r, c) })),
        COST_GOAL,
      ),
    );
    writeFileSync(
      join(svgDir, 'cv-heldout-violations.svg'),
      svgBars(
        'Held out: predictive SLO-violation s ÷ hpa (hpa 0: +1 on both)',
        held.map(({ r, c }, i) => ({
          label: labels[i]!,
          value: (r.pred[c]!.slo_violation_seconds + 1) / (r.hpa.slo_violation_seconds + 1),
        })),
        1,
      ),
    );
  }
  console.error(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
