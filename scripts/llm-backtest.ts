/**
 * The LLM autoscaling backtest of issue 20 (docs/backtests.md, "LLM autoscaling on token traces"):
 * `llm-slo` against the `keda-llm-waiting` baseline (and `llm-saturation`, `hpa` on CPU) on the
 * shared Azure code token trace and traces derived from it, with llm-slo's defaults chosen by
 * leave-one-family-out cross-validation.
 *
 *   nice -n 19 npx tsx scripts/llm-backtest.ts [--json out.jsonl] [--only NAME]
 *
 * Setup (all runs): startup 120 s, queue timeout 30 s, TTFT SLO p95 2,000 ms, min 1, max 100,
 * the default engine (token-simulate.ts). Scale: the trace's per-second peak (67 req/s) × scale
 * over one replica's capacity (16 seats at load factor 2 ÷ 0.76 s of seat time per request ≈ 10.5
 * req/s) is the peak in replicas: × 3 ≈ 19, as the request-trace backtests scale to about 20.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readTokenTrace, type TokenTrace } from '../src/simulator/token-trace.js';
import { simulateTokens, type TokenSimulationSummary } from '../src/simulator/token-simulate.js';
import { simulationPolicy } from '../src/simulator/simulation-policy.js';

const SHARED = resolve(process.env.LUASCALE_SHARED ?? resolve(import.meta.dirname, '../../shared'));
const TRACE = 'traces/azure-llm-code-2023-11-16-1h-tokens.csv';
const STARTUP_S = 120;
const QUEUE_TIMEOUT_S = 30;
const TTFT_SLO_MS = 2000;
/** The goal: no more violation seconds than the baseline at ≤ this share of its replica-hours. */
export const COST_GOAL = 0.85;

/** One derived token trace. */
export interface DerivedTokenTrace {
  name: string;
  family: 'original' | 'reversed' | 'halves' | 'scaled';
  how: string;
  trace: TokenTrace;
  scale: number;
  seed: number;
}

function sub(
  src: TokenTrace,
  keep: (t: number) => boolean,
  map: (t: number) => number,
  name: string,
): TokenTrace {
  const rows: Array<[number, number, number]> = [];
  for (let i = 0; i < src.t.length; i++)
    if (keep(src.t[i]!)) rows.push([map(src.t[i]!), src.context[i]!, src.generated[i]!]);
  rows.sort((a, b) => a[0] - b[0]);
  const last = rows.length > 0 ? rows[rows.length - 1]![0] : 0;
  return {
    file: name,
    t: Float64Array.from(rows, (r) => r[0]),
    context: Uint32Array.from(rows, (r) => r[1]),
    generated: Uint32Array.from(rows, (r) => r[2]),
    durationSeconds: Math.max(1, Math.ceil(last + 1e-9)),
  };
}

/** The traces, fixed before any result was seen: the hour, other seeds, reversed, halves, other scales. */
export function derivedTokenTraces(src = readTokenTrace(resolve(SHARED, TRACE))): DerivedTokenTrace[] {
  const end = src.durationSeconds;
  const half = end / 2;
  const all = () => true;
  const id = (t: number) => t;
  return [
    {
      name: 'azure-x3',
      family: 'original',
      how: 'the hour, × 3 (peak ≈ 19 replicas)',
      trace: src,
      scale: 3,
      seed: 0,
    },
    {
      name: 'azure-x3-s1',
      family: 'original',
      how: 'the hour, × 3, copies seeded 1',
      trace: src,
      scale: 3,
      seed: 1,
    },
    {
      name: 'azure-x3-s2',
      family: 'original',
      how: 'the hour, × 3, copies seeded 2',
      trace: src,
      scale: 3,
      seed: 2,
    },
    {
      name: 'azure-rev-x3',
      family: 'reversed',
      how: 'reversed in time, × 3',
      trace: sub(src, all, (t) => end - t, 'reversed'),
      scale: 3,
      seed: 0,
    },
    {
      name: 'azure-rev-x3-s1',
      family: 'reversed',
      how: 'reversed, × 3, seeded 1',
      trace: sub(src, all, (t) => end - t, 'reversed'),
      scale: 3,
      seed: 1,
    },
    {
      name: 'azure-half1-x3',
      family: 'halves',
      how: 'first half, × 3',
      trace: sub(src, (t) => t < half, id, 'half1'),
      scale: 3,
      seed: 0,
    },
    {
      name: 'azure-half2-x3',
      family: 'halves',
      how: 'second half, × 3',
      trace: sub(
        src,
        (t) => t >= half,
        (t) => t - half,
        'half2',
      ),
      scale: 3,
      seed: 0,
    },
    {
      name: 'azure-x1.5',
      family: 'scaled',
      how: 'the hour, × 1.5 (peak ≈ 10)',
      trace: src,
      scale: 1.5,
      seed: 0,
    },
    { name: 'azure-x6', family: 'scaled', how: 'the hour, × 6 (peak ≈ 38)', trace: src, scale: 6, seed: 0 },
  ];
}

/** Runs `spec` on one derived trace. */
export async function runOn(d: DerivedTokenTrace, spec: string): Promise<TokenSimulationSummary> {
  const policy = await simulationPolicy(spec, {
    capacity: 10.5,
    serviceMs: 760,
    startupS: STARTUP_S,
    min: 1,
    max: 100,
  });
  try {
    return simulateTokens({
      trace: d.trace,
      scale: d.scale,
      seed: d.seed,
      startupS: STARTUP_S,
      queueTimeoutS: QUEUE_TIMEOUT_S,
      ttftSloMs: TTFT_SLO_MS,
      policy,
      seriesPoints: 0,
    }).summary;
  } finally {
    policy.policy.close?.();
  }
}

/** The candidate settings of llm-slo (a grid fixed in advance). */
export const CANDIDATES: string[] = [];
for (const hold of [1, 2, 3, 5, 8])
  for (const smooth of [10, 30])
    for (const headroom of [0.8, 1]) CANDIDATES.push(`hold=${hold}&smooth_s=${smooth}&headroom=${headroom}`);

const BASELINES = ['builtin:keda-llm-waiting', 'builtin:llm-saturation', 'builtin:hpa'];

interface Cell {
  rh: number;
  viol: number;
}

/** Whether `c` meets the goal against the baseline `b`. */
export function meetsGoal(c: Cell, b: Cell): boolean {
  return c.viol <= b.viol && c.rh <= COST_GOAL * b.rh;
}

/**
 * The selection rule, safety first: most traces meeting the goal, then the lowest mean ratio of
 * violation seconds to the baseline's, then the lowest mean cost ratio.
 */
function choose(names: string[], cells: Map<string, Map<string, Cell>>, base: Map<string, Cell>): string {
  let best = '';
  let key: number[] = [];
  for (const cand of CANDIDATES) {
    let goal = 0;
    let viol = 0;
    let cost = 0;
    for (const n of names) {
      const c = cells.get(cand)!.get(n)!;
      const b = base.get(n)!;
      if (meetsGoal(c, b)) goal++;
      viol += c.viol / Math.max(1, b.viol);
      cost += c.rh / b.rh;
    }
    const k = [goal, -viol / names.length, -cost / names.length];
    if (
      best === '' ||
      k[0]! > key[0]! ||
      (k[0] === key[0] && (k[1]! > key[1]! || (k[1] === key[1] && k[2]! > key[2]!)))
    ) {
      best = cand;
      key = k;
    }
  }
  return best;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (f: string) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);
  const only = opt('--only');
  const traces = derivedTokenTraces().filter((d) => !only || d.name === only);
  const rows: Array<Record<string, unknown>> = [];
  const base = new Map<string, Map<string, Cell>>();
  const cells = new Map<string, Map<string, Cell>>(CANDIDATES.map((c) => [c, new Map()]));
  for (const d of traces) {
    for (const spec of BASELINES) {
      const s = await runOn(d, spec);
      if (!base.has(spec)) base.set(spec, new Map());
      base.get(spec)!.set(d.name, { rh: s.replica_hours, viol: s.ttft_slo_violation_seconds });
      rows.push({ trace: d.name, policy: spec, ...pick(s) });
    }
    for (const cand of CANDIDATES) {
      const s = await runOn(d, `builtin:llm-slo?${cand}`);
      cells.get(cand)!.set(d.name, { rh: s.replica_hours, viol: s.ttft_slo_violation_seconds });
      rows.push({ trace: d.name, policy: `llm-slo?${cand}`, ...pick(s) });
    }
    process.stderr.write(`${d.name} done\n`);
  }
  const keda = base.get('builtin:keda-llm-waiting')!;
  const families = [...new Set(traces.map((d) => d.family))];
  console.log(
    '\n| fold (held out) | trace | chosen on the other families | `keda-llm-waiting` RH / viol. s | `llm-saturation` RH / viol. s | `llm-slo` RH / viol. s | × keda cost | viol. vs keda | goal |',
  );
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  const sat = base.get('builtin:llm-saturation')!;
  for (const fam of families) {
    const train = traces.filter((d) => d.family !== fam).map((d) => d.name);
    const chosen = choose(train, cells, keda);
    for (const d of traces.filter((x) => x.family === fam)) {
      const c = cells.get(chosen)!.get(d.name)!;
      const b = keda.get(d.name)!;
      console.log(
        `| ${fam} | ${d.name} (${d.how}) | ${chosen.replaceAll('&', ' ')} | ${r2(b.rh)} / ${b.viol} | ${r2(sat.get(d.name)!.rh)} / ${sat.get(d.name)!.viol} | ${r2(c.rh)} / ${c.viol} | ${(c.rh / b.rh).toFixed(3)} | ${c.viol} vs ${b.viol} | ${meetsGoal(c, b) ? 'met' : '**no**'} |`,
      );
    }
  }
  const shipped = choose(
    traces.map((d) => d.name),
    cells,
    keda,
  );
  console.log(`\nchosen on all traces: ${shipped}`);
  console.log('\n| trace | keda | saturation | hpa | ' + CANDIDATES.join(' | ') + ' |');
  for (const d of traces) {
    const cell = (c: Cell | undefined) => (c ? `${r2(c.rh)} / ${c.viol}` : '');
    console.log(
      `| ${d.name} | ${cell(keda.get(d.name))} | ${cell(base.get('builtin:llm-saturation')!.get(d.name))} | ${cell(base.get('builtin:hpa')!.get(d.name))} | ` +
        CANDIDATES.map((c) => cell(cells.get(c)!.get(d.name))).join(' | ') +
        ' |',
    );
  }
  const json = opt('--json');
  if (json) writeFileSync(json, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

function pick(s: TokenSimulationSummary) {
  return {
    replica_hours: s.replica_hours,
    ttft_slo_violation_seconds: s.ttft_slo_violation_seconds,
    ttft_p50_ms: s.ttft_p50_ms,
    ttft_p95_ms: s.ttft_p95_ms,
    ttft_p99_ms: s.ttft_p99_ms,
    requests_dropped: s.requests_dropped,
    max_replicas: s.max_replicas,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
