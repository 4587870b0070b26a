/**
 * `slo`: keep the worst operation's p95 latency inside its objective, with headroom.
 *
 * Latency is not proportional to the replica count (it is flat until the queue forms, then
 * climbs steeply, as in M/M/c), so this is a feedback controller rather than a ratio formula:
 *   pressure = max over the service and every operation with an SLO of p95 / (slo × headroom)
 *   pressure > 1 or requests shed → scale up: ceil(current × min(max_step, pressure)), at least +1
 *   pressure < scale_down_below   → scale down to what CPU tracking at `cpu_target` needs
 *                                   (never below it, so latency room alone never removes capacity)
 *   otherwise                     → hold
 * The SLO comes from config / OpenAPI (`observation.slo`, `operations[op].slo`) or `slo_ms`.
 * Why: SLO-driven control beats utilisation targets on cost at equal SLO (FIRM, OSDI 2020;
 * Autothrottle, NSDI 2024; see ../shared/reference/anchors-autoscalers.md).
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { paramReader } from './params.js';
import { failure, recommend } from './outcome.js';
import { shedRate } from '../../signals/index.js';

/** Validated slo params. */
export interface SloParams {
  sloMs?: number;
  headroom: number;
  scaleDownBelow: number;
  maxStep: number;
  cpuTarget: number;
}

/** Validates slo params. */
export function parseSloParams(params: Readonly<Record<string, unknown>>): SloParams {
  const r = paramReader('slo', params);
  r.onlyKeys(['slo_ms', 'headroom', 'scale_down_below', 'max_step', 'cpu_target']);
  const headroom = r.number('headroom', 0.8, { min: 0.1, max: 1 });
  const scaleDownBelow = r.number('scale_down_below', 0.5, { min: 0, max: 1 });
  return {
    sloMs: r.optionalNumber('slo_ms', { min: 0, exclusiveMin: true }),
    headroom,
    scaleDownBelow,
    maxStep: r.number('max_step', 2, { min: 1, max: 10, exclusiveMin: true }),
    cpuTarget: r.number('cpu_target', 70, { min: 1, max: 100 }),
  };
}

/** The worst p95 / (slo × headroom) over the service and its operations, and where it is. */
export function sloPressure(
  ctx: PolicyContext,
  p: SloParams,
): { pressure: number; where: string; p95: number; slo: number } | undefined {
  const obs = ctx.observation;
  let worst: { pressure: number; where: string; p95: number; slo: number } | undefined;
  const consider = (where: string, p95: number | undefined, slo: number | undefined) => {
    if (slo === undefined || !(slo > 0) || p95 === undefined || !Number.isFinite(p95)) return;
    const pressure = p95 / (slo * p.headroom);
    if (!worst || pressure > worst.pressure) worst = { pressure, where, p95, slo };
  };
  consider('service', obs.latency?.p95, obs.slo?.latency_p95_ms ?? p.sloMs);
  for (const [op, sig] of Object.entries(obs.operations ?? {}))
    consider(op, sig.latency?.p95, sig.slo?.latency_p95_ms ?? obs.slo?.latency_p95_ms ?? p.sloMs);
  return worst;
}

/** Creates the slo policy. */
export function slo(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseSloParams(params);
  return {
    name: 'builtin:slo',
    source: `slo: keep the worst p95 under ${p.headroom * 100}% of its SLO; scale down below ${p.scaleDownBelow * 100}% by CPU at ${p.cpuTarget}%`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const current = obs.replicas;
        const w = sloPressure(ctx, p);
        if (!w)
          return recommend(current, 'no latency SLO to track (set slo or slo_ms): keep current', {
            pressure: null,
          });
        const detail: Record<string, unknown> = {
          where: w.where,
          p95: w.p95,
          slo: w.slo,
          pressure: Math.round(w.pressure * 1000) / 1000,
        };
        const shedding = shedRate(obs) > 0;
        if (w.pressure > 1 || shedding) {
          const factor = Math.min(p.maxStep, Math.max(w.pressure, shedding ? 1.5 : 1));
          const desired = Math.max(current + 1, Math.ceil(Math.max(current, 1) * factor - 1e-9));
          return recommend(
            desired,
            `${w.where} p95 ${Math.round(w.p95)}ms over ${Math.round(p.headroom * 100)}% of ${w.slo}ms${shedding ? ', shedding' : ''}: ×${factor.toFixed(2)}`,
            detail,
          );
        }
        if (w.pressure < p.scaleDownBelow && obs.ready > 0 && obs.cpu !== undefined && obs.cpu >= 0) {
          const byCpu = Math.max(1, Math.ceil((obs.ready * obs.cpu) / p.cpuTarget - 1e-9));
          if (byCpu < current)
            return recommend(
              byCpu,
              `${w.where} p95 ${Math.round(w.p95)}ms well within ${w.slo}ms: CPU ${Math.round(obs.cpu)}% allows ${byCpu}`,
              { ...detail, byCpu },
            );
        }
        return recommend(current, `${w.where} p95 ${Math.round(w.p95)}ms within ${w.slo}ms: hold`, detail);
      } catch (err) {
        return failure('slo', err);
      }
    },
  };
}
