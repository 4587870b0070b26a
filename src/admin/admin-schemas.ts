/**
 * JSON Schemas of the admin API. The same objects validate requests, serialise responses and
 * become `/openapi.json` (through @fastify/swagger), so the document cannot drift from the code.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LOAD_SIGNALS } from '../signals/index.js';

const open = { additionalProperties: true } as const;

/** `{ error: { code, message } }`, the body of every error response. */
export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }, open) },
  { $id: 'Error', description: 'Every error response; `code` is stable (docs/errors.md)' },
);

export const Latency = Type.Object(
  { p50: Type.Number(), p95: Type.Number(), p99: Type.Number() },
  { $id: 'Latency' },
);

/**
 * An optional group of catalogue signals (`llm.*`) as an object: each field absent when not
 * measured, `llm.ttft.p50` as `ttft.p50`.
 */
function optionalGroup(head: string) {
  const props: Record<string, TSchema> = {};
  const inner: Record<string, Record<string, TSchema>> = {};
  for (const s of LOAD_SIGNALS) {
    if (!s.name.startsWith(`${head}.`)) continue;
    const rest = s.name.slice(head.length + 1).split('.');
    const leaf = Type.Optional(
      Type.Number({ description: `${s.meaning} (${s.unit}); absent when not measured` }),
    );
    if (rest.length === 1) props[rest[0]!] = leaf;
    else (inner[rest[0]!] ??= {})[rest[1]!] = leaf;
  }
  for (const [k, v] of Object.entries(inner)) props[k] = Type.Optional(Type.Object(v));
  return Type.Optional(
    Type.Object(props, { description: `${head}.* signals; absent for services without them` }),
  );
}

/** A service's signals: the catalogue's load signals (src/signals/catalog.ts); `latency.*` is `latency`. */
export const Signals = Type.Object(
  {
    ...Object.fromEntries(
      LOAD_SIGNALS.filter((s) => !s.name.includes('.')).map((s) => [
        s.name,
        // CPU and memory are absent when the provider reports no usage (unknown, not 0).
        s.aggregate === 'mean'
          ? Type.Optional(Type.Number({ description: `${s.meaning} (${s.unit}); absent when unknown` }))
          : Type.Number({ description: `${s.meaning} (${s.unit})` }),
      ]),
    ),
    latency: Type.Ref('Latency'),
    llm: optionalGroup('llm'),
  },
  { ...open, $id: 'Signals' },
);

export const Replicas = Type.Object(
  { desired: Type.Integer(), ready: Type.Integer(), starting: Type.Integer(), draining: Type.Integer() },
  { $id: 'Replicas' },
);

export const Decision = Type.Object(
  {
    service: Type.String(),
    at: Type.Number(),
    current: Type.Integer(),
    replicas: Type.Integer(),
    reason: Type.String({ description: 'Stable PascalCase reason code' }),
    message: Type.String(),
    mode: Type.String(),
    inputs: Type.Object({}, open),
    policy: Type.Object({ name: Type.String(), outcome: Type.Object({}, open) }, open),
    steps: Type.Array(
      Type.Object(
        {
          stage: Type.String(),
          from: Type.Number(),
          to: Type.Number(),
          reason: Type.String(),
          note: Type.String(),
        },
        open,
      ),
    ),
  },
  { ...open, $id: 'Decision', description: 'One scaling decision with every reason that shaped it' },
);

export const Alert = Type.Object(
  {
    service: Type.String(),
    name: Type.String(),
    severity: Type.String(),
    message: Type.String(),
    startsAt: Type.Number(),
  },
  { ...open, $id: 'Alert' },
);

export const ServiceSummary = Type.Object(
  {
    name: Type.String(),
    provider: Type.String(),
    min: Type.Integer(),
    max: Type.Integer(),
    policy: Type.String(),
    paused: Type.Boolean(),
    override: Type.Union([
      Type.Null(),
      Type.Object({ replicas: Type.Integer(), until: Type.Union([Type.Number(), Type.Null()]) }),
    ]),
    replicas: Type.Ref('Replicas'),
    signals: Type.Union([Type.Ref('Signals'), Type.Null()]),
    lastReason: Type.Union([Type.String(), Type.Null()]),
    alerts: Type.Array(Type.Ref('Alert')),
    slo: Type.Union([Type.Object({}, open), Type.Null()]),
    actuationError: Type.Optional(
      Type.Union([
        Type.Null(),
        Type.Object(
          {
            stage: Type.String({
              description: '`launch`, `stop` or `list` (the provider listing its targets)',
            }),
            message: Type.String(),
            at: Type.Number({ description: 'Wall-clock ms of the latest failure' }),
            failures: Type.Integer({ description: 'Failures in a row' }),
          },
          { description: 'The actuation failure not yet resolved; null once an attempt succeeds' },
        ),
      ]),
    ),
  },
  { ...open, $id: 'ServiceSummary' },
);

export const Instance = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    state: Type.String(),
    startedAt: Type.Number(),
    readyAt: Type.Optional(Type.Number()),
    pid: Type.Optional(Type.Integer()),
    inflight: Type.Optional(Type.Number()),
    errors: Type.Optional(Type.Number()),
    cpu: Type.Optional(Type.Number()),
    memory: Type.Optional(Type.Number()),
  },
  { ...open, $id: 'Instance' },
);

export const ServiceDetail = Type.Intersect(
  [
    Type.Ref('ServiceSummary'),
    Type.Object({
      instances: Type.Array(Type.Ref('Instance')),
      lastDecision: Type.Union([Type.Ref('Decision'), Type.Null()]),
      operations: Type.Object({}, { ...open, description: 'Per-operation signals and SLOs by operationId' }),
      policySource: Type.Union([Type.String(), Type.Null()]),
    }),
  ],
  { $id: 'ServiceDetail' },
);

export const Event = Type.Object(
  {
    id: Type.Integer(),
    service: Type.String(),
    type: Type.String(),
    at: Type.Number(),
    data: Type.Object({}, open),
  },
  { ...open, $id: 'Event' },
);

export const EventPage = Type.Object(
  { events: Type.Array(Type.Ref('Event')), next: Type.Union([Type.Integer(), Type.Null()]) },
  { $id: 'EventPage' },
);

export const ScaleRequest = Type.Object(
  {
    replicas: Type.Integer({ minimum: 0, maximum: 100000 }),
    ttl: Type.Optional(
      Type.String({
        pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d)?$',
        description: 'e.g. 10m; absent = until cleared',
      }),
    ),
  },
  { additionalProperties: false, $id: 'ScaleRequest' },
);

export const ScaleResult = Type.Object(
  {
    ok: Type.Boolean(),
    requested: Type.Integer(),
    replicas: Type.Integer({ description: 'The count that applies: `requested` clamped to [min, max]' }),
    clamped: Type.Boolean(),
    min: Type.Integer(),
    max: Type.Integer(),
    paused: Type.Boolean({ description: 'Scaling is paused: the override applies after resume' }),
    until: Type.Union([Type.Number(), Type.Null()], {
      description: 'Epoch ms the override ends; null = until cleared',
    }),
  },
  { $id: 'ScaleResult' },
);

export const PolicyReload = Type.Union(
  [
    Type.Object(
      {
        source: Type.String({ minLength: 1, maxLength: 262144, description: 'Lua source of the new policy' }),
        file: Type.Optional(
          Type.String({ minLength: 1, maxLength: 1024, description: 'The file name errors and status show' }),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        builtin: Type.String({ minLength: 1, maxLength: 63, description: 'A built-in policy, e.g. hpa' }),
        params: Type.Optional(Type.Object({}, open)),
      },
      { additionalProperties: false },
    ),
  ],
  { $id: 'PolicyReload' },
);

export const PolicyReloadResult = Type.Object(
  { ok: Type.Boolean(), policy: Type.String({ description: 'The name of the policy now running' }) },
  { $id: 'PolicyReloadResult' },
);

export const EvalRequest = Type.Object(
  {
    policy: Type.Union([
      Type.Object(
        { source: Type.String({ minLength: 1, maxLength: 262144 }) },
        { additionalProperties: false },
      ),
      Type.Object(
        { builtin: Type.String({ minLength: 1 }), params: Type.Optional(Type.Object({}, open)) },
        { additionalProperties: false },
      ),
    ]),
    input: Type.Object({}, { ...open, description: 'Observation fields plus min, max, params, state' }),
  },
  { additionalProperties: false, $id: 'EvalRequest' },
);

export const EvalResult = Type.Object(
  {
    replicas: Type.Integer(),
    reason: Type.String(),
    message: Type.String(),
    logs: Type.Array(Type.String()),
    alerts: Type.Array(Type.Object({}, open)),
    decision: Type.Ref('Decision'),
  },
  { $id: 'EvalResult' },
);

export const MetricSeries = Type.Object(
  {
    service: Type.String(),
    metric: Type.String(),
    step: Type.Number({ description: 'Seconds between points' }),
    // A pair as JSON Schema 2020-12 (OpenAPI 3.1) spells it: prefixItems, not draft-07's
    // `items: [...]` + `additionalItems` (which Type.Tuple emits); `items` also keeps
    // fast-json-stringify, which does not read prefixItems, serializing numbers.
    points: Type.Array(
      Type.Unsafe<[number, number]>({
        type: 'array',
        prefixItems: [{ type: 'number' }, { type: 'number' }],
        items: { type: 'number' },
        minItems: 2,
        maxItems: 2,
      }),
      { description: '[epoch seconds, value]' },
    ),
  },
  { $id: 'MetricSeries' },
);

export const Ok = Type.Object({ ok: Type.Boolean() }, { ...open, $id: 'Ok' });

/** Every named schema, registered once with fastify so `$ref`s resolve and OpenAPI lists them. */
export const SHARED_SCHEMAS = [
  ErrorBody,
  Latency,
  Signals,
  Replicas,
  Decision,
  Alert,
  ServiceSummary,
  Instance,
  ServiceDetail,
  Event,
  EventPage,
  ScaleRequest,
  ScaleResult,
  PolicyReload,
  PolicyReloadResult,
  EvalRequest,
  EvalResult,
  MetricSeries,
  Ok,
];

export type ScaleRequestBody = Static<typeof ScaleRequest>;
export type EvalRequestBody = Static<typeof EvalRequest>;
