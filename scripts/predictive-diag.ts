/**
 * Where `predictive`'s instances go on one derived trace (issue 22): runs it through the simulator
 * with the backtest model, records each tick's `detail`, and prints the share of ticks each answer
 * binds and the per-tick means of every answer (the guard's R and S, the forecast, the burst
 * window, the scale-in hold), beside `hpa`'s mean fleet.
 *
 *   nice -n 19 npx tsx scripts/predictive-diag.ts TRACE [key=value ...]
 */
import { simulate, simulationPolicy } from '../src/simulator/index.js';
import { parseValue } from '../src/simulator/simulation-policy.js';
import { BACKTEST_MODEL } from './predictive-backtest.js';
import { build, DERIVED } from './derived-traces.js';

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const d = DERIVED.find((x) => x.name === name);
  if (!d) throw new Error(`no derived trace ${name}: ${DERIVED.map((x) => x.name).join(', ')}`);
  const params: Record<string, unknown> = {};
  for (const a of rest) {
    const eq = a.indexOf('=');
    params[a.slice(0, eq)] = parseValue(a.slice(eq + 1));
  }
  const m = BACKTEST_MODEL;
  const sums = new Map<string, number>();
  const bound = new Map<string, number>();
  let ticks = 0;
  const add = (k: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) sums.set(k, (sums.get(k) ?? 0) + v);
  };
  const run = async (arg: string, p: Record<string, unknown>, record: boolean) => {
    const sp = await simulationPolicy(arg, {
      capacity: m.capacity,
      serviceMs: m.serviceMs,
      startupS: m.startupS,
      min: 1,
      max: 100,
      params: p,
    });
    const inner = sp.policy.evaluate.bind(sp.policy);
    let replicaSum = 0;
    let n = 0;
    sp.policy = {
      ...sp.policy,
      evaluate(ctx) {
        const out = inner(ctx);
        replicaSum += ctx.observation.replicas;
        n++;
        if (record && out.ok && out.detail) {
          ticks++;
          const det = out.detail;
          for (const k of [
            'guard',
            'guard_r',
            'guard_s',
            'guard_utilization',
            'raw',
            'held',
            'unshrunk',
            'reactive',
            'floor',
            'forecasted',
            'demand',
            'burst',
            'bound_q',
          ])
            add(k, det[k] ?? (k === 'held' ? det.raw : undefined));
          add('asked', out.replicas);
          const src = String(det.source) + (det.held !== undefined ? ' (held)' : '');
          bound.set(src, (bound.get(src) ?? 0) + 1);
        }
        return out;
      },
    };
    try {
      const s = simulate({ ...build(d), seed: d.seed, model: m, policy: sp, seriesPoints: 0 }).summary;
      return { s, meanReplicas: replicaSum / n, n };
    } finally {
      sp.policy.close?.();
    }
  };
  const hpa = await run('builtin:hpa', {}, false);
  const pred = await run('builtin:predictive', params, true);
  console.log(
    `${d.name}: hpa ${hpa.s.instance_hours.toFixed(2)} h / ${hpa.s.slo_violation_seconds} s (mean ${hpa.meanReplicas.toFixed(2)}), predictive ${pred.s.instance_hours.toFixed(2)} h / ${pred.s.slo_violation_seconds} s (mean ${pred.meanReplicas.toFixed(2)}) = ${(pred.s.instance_hours / hpa.s.instance_hours).toFixed(3)}x`,
  );
  console.log('means per tick: ' + [...sums].map(([k, v]) => `${k} ${(v / ticks).toFixed(2)}`).join(', '));
  console.log(
    'binding: ' +
      [...bound]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${((100 * v) / ticks).toFixed(1)} %`)
        .join(', '),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
