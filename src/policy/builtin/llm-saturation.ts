/**
 * `llm-saturation`: llm-d's workload-variant autoscaler (WVA) in its saturation mode
 * (llm-d/llm-d-workload-variant-autoscaler docs/saturation-scaling-config.md; reference note
 * ../shared/reference/ai-gateways.md §1b, [WVA-CFG]). A replica is saturated at KV use >= 0.8 or
 * a queue >= 5; the spare capacity of the service is the average headroom below those limits:
 *   spare_kv    = kv_threshold − llm.kv_util                  (mean over ready replicas)
 *   spare_queue = queue_threshold − llm.waiting / ready
 *   scale up   when spare_kv < kv_spare_trigger (0.1) or spare_queue < queue_spare_trigger (3):
 *              to the fewest replicas that restore both spares,
 *              ceil(max(kv_util × ready / (kv_threshold − kv_spare_trigger),
 *                       waiting / (queue_threshold − queue_spare_trigger))), at least one more;
 *   scale down when fewer replicas would keep both spares at or above their triggers under the
 *              same load, and nothing is starting (WVA: never while a scale-up is pending): to that
 *              fewest count, answered on every tick, so that the decision core's scale-down window
 *              (300 s by default) turns it into "spare for the whole window" (WVA removes one
 *              replica per cycle; the window plays its cooldown);
 *   otherwise hold.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { llmSignal } from './llm-signals.js';
import { failure, recommend } from './outcome.js';
import { paramReader } from './params.js';

/** Validated llm-saturation params. */
export interface LlmSaturationParams {
  kvThreshold: number;
  queueThreshold: number;
  kvSpareTrigger: number;
  queueSpareTrigger: number;
}

/** Validates llm-saturation params (WVA's defaults). */
export function parseLlmSaturationParams(params: Readonly<Record<string, unknown>>): LlmSaturationParams {
  const r = paramReader('llm-saturation', params);
  r.onlyKeys(['kv_threshold', 'queue_threshold', 'kv_spare_trigger', 'queue_spare_trigger']);
  const kvThreshold = r.number('kv_threshold', 0.8, { min: 0, max: 1, exclusiveMin: true });
  const queueThreshold = r.number('queue_threshold', 5, { min: 0, exclusiveMin: true });
  const kvSpareTrigger = r.number('kv_spare_trigger', 0.1, { min: 0, max: kvThreshold });
  const queueSpareTrigger = r.number('queue_spare_trigger', 3, { min: 0, max: queueThreshold });
  if (kvSpareTrigger >= kvThreshold) r.fail(`kv_spare_trigger: must be < kv_threshold (${kvThreshold})`);
  if (queueSpareTrigger >= queueThreshold)
    r.fail(`queue_spare_trigger: must be < queue_threshold (${queueThreshold})`);
  return { kvThreshold, queueThreshold, kvSpareTrigger, queueSpareTrigger };
}

/** Creates the llm-saturation policy. */
export function llmSaturation(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseLlmSaturationParams(params);
  return {
    name: 'builtin:llm-saturation',
    source: `llm-saturation: WVA spare capacity (saturated at KV ${p.kvThreshold} or queue ${p.queueThreshold}; up below ${p.kvSpareTrigger} KV / ${p.queueSpareTrigger} queue spare)`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        return saturationDecision(ctx, p);
      } catch (err) {
        return failure('llm-saturation', err);
      }
    },
  };
}

function saturationDecision(ctx: PolicyContext, p: LlmSaturationParams): PolicyOutcome {
  const obs = ctx.observation;
  const current = obs.replicas;
  const waiting = llmSignal(obs, 'waiting');
  const kv = llmSignal(obs, 'kv_util');
  if (obs.fresh === false || (waiting === undefined && kv === undefined))
    return recommend(current, `no llm.waiting or llm.kv_util: keep ${current}`, {
      waiting: null,
      kv_util: null,
    });
  const ready = obs.ready;
  const queued = (waiting ?? 0) + (obs.queue ?? 0);
  if (ready <= 0) {
    const up = queued > 0 ? Math.max(current, 1) : current;
    return recommend(up, `no ready replica${queued > 0 ? ', requests waiting: at least 1' : ''}`, {
      waiting,
      kv_util: kv,
    });
  }
  const kvLoad = (kv ?? 0) * ready;
  const spareKv = p.kvThreshold - (kv ?? 0);
  const spareQueue = p.queueThreshold - queued / ready;
  const detail = {
    waiting: queued,
    kv_util: kv ?? null,
    spare_kv: round(spareKv),
    spare_queue: round(spareQueue),
    ready,
  };
  // The fewest replicas on which the same load leaves both spares at their triggers.
  const byKv = kvLoad / (p.kvThreshold - p.kvSpareTrigger);
  const byQueue = queued / (p.queueThreshold - p.queueSpareTrigger);
  const needed = Math.max(1, Math.ceil(Math.max(byKv, byQueue) - 1e-9));
  if ((kv !== undefined && spareKv < p.kvSpareTrigger) || spareQueue < p.queueSpareTrigger) {
    const up = Math.max(ready + 1, needed);
    if (up <= current)
      return recommend(current, `spare below trigger, ${current - ready} starting cover it: hold`, detail);
    return recommend(
      up,
      `spare KV ${round(spareKv)} / queue ${round(spareQueue)} below trigger: ${up}`,
      detail,
    );
  }
  // Answered on every tick: the core's scale-down window turns it into "spare for the whole window".
  if (needed < ready && obs.starting === 0)
    return recommend(needed, `spare stays above trigger on ${needed}: scale down`, detail);
  return recommend(current, `spare KV ${round(spareKv)} / queue ${round(spareQueue)}: hold`, detail);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
