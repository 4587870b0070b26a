/** The schema of a service's `scaling` section: bounds, interval, policy, behaviour, SLOs, sandbox limits. */
import { Type } from '@sinclair/typebox';
import { Behavior } from './behavior-schema.js';
import { Duration, strict } from './schema-primitives.js';

const Slo = strict(
  {
    latency_p95_ms: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'p95 latency objective (ms)' }),
    ),
    latency_p99_ms: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'p99 latency objective (ms)' }),
    ),
    ttft_p95_ms: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: 'p95 time-to-first-token objective of a model server (ms)',
      }),
    ),
    error_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Max 5xx ratio (0..1)' })),
    availability: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Availability objective (0..1)' }),
    ),
  },
  'Service-level objectives; reach Lua as ctx.slo',
);

/** A Lua file path or `{ builtin, params }`. */
export const PolicyRef = Type.Union(
  [
    Type.String({ minLength: 1, description: 'Path to a Lua policy (relative to the config file)' }),
    strict(
      {
        builtin: Type.String({
          minLength: 1,
          description:
            'hpa, kpa, target-tracking, step, schedule, predictive, slo, llm-saturation, llm-slo, keda-llm-waiting',
        }),
        params: Type.Record(Type.String(), Type.Unknown(), {
          default: {},
          description: 'Built-in parameters',
        }),
      },
      'A built-in policy',
    ),
  ],
  {
    description:
      'A Lua file or { builtin, params }. Default: target tracking on CPU at 60 % where the provider ' +
      'reports usage (process; kubernetes with metrics.k8s.io), otherwise on in-flight requests at ' +
      '70 per instance (static, exec), as Knative does',
    // Without usage a provider's CPU is unknown, and a CPU-only default would hold forever; the
    // fallback follows what the service can measure. 70 in flight per instance is Knative's
    // default (container-concurrency-target-default 100 × target utilisation 0.7).
    default: {
      builtin: 'target-tracking',
      params: { metric: 'cpu', target: 60, fallback: { metric: 'inflight', target: 70 } },
    },
  },
);

/** A service's `scaling` section. */
export const Scaling = strict(
  {
    min: Type.Integer({ minimum: 0, maximum: 10_000, default: 1, description: 'Fewest instances' }),
    max: Type.Integer({ minimum: 1, maximum: 10_000, default: 10, description: 'Most instances' }),
    interval: Duration('Decision interval', '1s', '100ms', '1h'),
    window: Duration(
      'Window the gateway signals (rps, latency, in-flight) are averaged over each tick',
      '2s',
      '100ms',
      '1h',
    ),
    policy: PolicyRef,
    params: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'ctx.params of a Lua policy',
    }),
    startup: Type.Optional(
      Duration('Expected instance startup time (measured when absent)', undefined, '0s', '24h'),
    ),
    behavior: Behavior,
    slo: Type.Optional(Slo),
    limits: strict(
      {
        instructions: Type.Integer({
          minimum: 1000,
          maximum: 1_000_000_000,
          default: 1_000_000,
          description: 'Lua instructions per call',
        }),
        memory_mb: Type.Number({
          exclusiveMinimum: 0,
          maximum: 4096,
          default: 16,
          description: 'Lua memory cap',
        }),
        timeout: Duration(
          'Wall-clock backstop per call (catches a hang inside one C call; the instruction budget stops loops)',
          '1s',
          '10ms',
          '1m',
        ),
      },
      'Sandbox limits of a Lua policy',
      { default: {} },
    ),
  },
  'How the service scales',
  { default: {} },
);
