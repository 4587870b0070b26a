/**
 * `keda-llm-waiting`: the baseline most vLLM deployments run, as the vLLM production-stack's KEDA
 * guide sets it up: a ScaledObject with a Prometheus trigger on `vllm:num_requests_waiting`,
 * threshold 5 (../shared/reference/ai-gateways.md, [PS-KEDA]). KEDA hands the query's value to the
 * HPA as an External metric with an AverageValue target, so the replica count is the HPA's
 * `GetExternalPerPodMetricReplicas`: desired = ceil(waiting / threshold), kept within the HPA's
 * tolerance (hpa.ts). The HPA's 15 s sync period and its default behaviour (300 s scale-down
 * stabilization) are the decision core's, as the simulator runs `hpa`.
 *
 * Requests the gateway holds because every engine is saturated (the `queue` signal; llm-d's
 * `igw_queue_depth`, which its flow control exposes to HPA/KEDA for this purpose [LLMD-1192]) are
 * waiting too, so the trigger's query sums both: waiting = llm.waiting + queue.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { hpaTotalReplicas } from './hpa.js';
import { llmSignal } from './llm-signals.js';
import { failure, recommend } from './outcome.js';
import { paramReader } from './params.js';

/** Creates the keda-llm-waiting policy. */
export function kedaLlmWaiting(params: Readonly<Record<string, unknown>>): Policy {
  const r = paramReader('keda-llm-waiting', params);
  r.onlyKeys(['threshold', 'tolerance']);
  const threshold = r.number('threshold', 5, { min: 0, exclusiveMin: true });
  const tolerance = r.number('tolerance', 0.1, { min: 0, max: 1 });
  return {
    name: 'builtin:keda-llm-waiting',
    source: `keda-llm-waiting: KEDA on llm.waiting, threshold ${threshold} (HPA AverageValue)`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const engines = obs.fresh === false ? undefined : llmSignal(obs, 'waiting');
        const waiting = engines === undefined ? undefined : engines + (obs.queue ?? 0);
        if (waiting === undefined)
          return recommend(obs.replicas, `no llm.waiting: keep ${obs.replicas}`, {
            waiting: null,
            threshold,
          });
        const res = hpaTotalReplicas(obs.replicas, waiting, threshold, {
          toleranceUp: tolerance,
          toleranceDown: tolerance,
        });
        return recommend(
          res.replicas,
          `llm.waiting ${Math.round(waiting * 10) / 10} / ${threshold}: ${res.note}`,
          {
            waiting,
            threshold,
            ratio: Math.round(res.ratio * 1000) / 1000,
          },
        );
      } catch (err) {
        return failure('keda-llm-waiting', err);
      }
    },
  };
}
