/**
 * The `llm:` section's engine and routing settings (issue 20): which inference engine the service's
 * instances run, so luascale reads their `/metrics` each tick (src/llm/engines), and how the `llm`
 * balancer weighs them (src/llm/routing/llm-balancer.ts, docs/llm.md "Signals and routing").
 */
import { Type } from '@sinclair/typebox';
import { Duration, strict } from './schema-primitives.js';

const weight = (what: string, dflt: number) =>
  Type.Number({ minimum: 0, maximum: 100, default: dflt, description: `Weight of the ${what} score` });

/** `llm.engine`: the engine whose metric names are read (none: nothing is scraped). */
export const LlmEngine = Type.Union(
  ['vllm', 'sglang', 'tgi', 'trtllm', 'llamacpp', 'none'].map((e) => Type.Literal(e)),
  {
    default: 'none',
    description:
      "The inference engine of the service's instances: its /metrics are read every tick and mapped to the llm.* signals (vllm covers both generations of names; llm-sim speaks vllm or llamacpp)",
  },
);

/** `llm.routing`: the llm balancer's saturation thresholds and score weights. */
export const LlmRouting = strict(
  {
    balancer: Type.Union([Type.Literal('llm'), Type.Literal('service')], {
      default: 'llm',
      description:
        "llm: saturation filter, queue / KV / token-load / prefix-affinity scores; service: the service's own balancer",
    }),
    queue_threshold: Type.Number({
      minimum: 1,
      maximum: 100_000,
      default: 5,
      description: 'Engine queue at which an instance is saturated (the llm-d router and WVA default)',
    }),
    kv_threshold: Type.Number({
      minimum: 0.01,
      maximum: 1,
      default: 0.8,
      description: 'KV-cache use (0..1) at which an instance is saturated (the llm-d router and WVA default)',
    }),
    weights: strict(
      {
        queue: weight('queue', 1),
        kv: weight('KV-headroom', 1),
        tokens: weight('in-flight-token', 1),
        prefix: weight('prefix-affinity', 2),
      },
      'Score weights (the llm-d router sample: prefix 2, KV 1, queue 1)',
      { default: {} },
    ),
    prefix_capacity: Type.Integer({
      minimum: 1,
      maximum: 16_777_216,
      default: 65_536,
      description: 'Prompt blocks (16 tokens each) the prefix index remembers, least recently used evicted',
    }),
    scrape_timeout: Duration(
      'Longest wait for one instance’s /metrics (then its values are stale)',
      '500ms',
      '10ms',
      '30s',
    ),
  },
  'How requests are spread over the model servers (docs/llm.md)',
  { default: {} },
);
