/**
 * The one configuration schema (house style §4). It yields the validator (ajv), the TypeScript
 * types (`Static`), the published `schema/luascale.schema.json` and the table in `docs/config.md`.
 * A test fails when a generated file is out of date (`npm run gen` rewrites them).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../core/duration.js';

/** The rule a duration breaks when it does not parse (the pattern itself is for editors). */
export const DURATION_RULE = 'must be a duration such as 250ms, 15s, 5m, 1h or 1m30s, or a number of seconds';
/** The longest duration any setting takes: below Node's timer limit of 2^31-1 ms (24.8 days). */
const MAX = '24d';

/**
 * A duration: `250ms`, `15s`, `5m`, `1h`, `1m30s`, or a number of seconds, within `[min, max]`
 * (`x-duration-range`, checked by the loader's ajv keyword of that name and shown in the docs).
 * Every duration has a range: a zero that cannot work and a value beyond Node's timer limit, which
 * Node turns into a 1-ms busy loop, are refused where they are written.
 */
const Duration = (description: string, dflt: string | undefined, min: string, max: string = MAX) =>
  Type.Union(
    [
      Type.String({ pattern: DURATION_PATTERN, patternErrorMessage: DURATION_RULE }),
      Type.Number({ minimum: 0 }),
    ],
    {
      description,
      errorMessage: DURATION_RULE,
      'x-duration-range': { min, max },
      ...(dflt === undefined ? {} : { default: dflt }),
    },
  );

/** A string that must match `pattern`; `rule` is what the user is told when it does not. */
const Pattern = (pattern: string, rule: string, options: object = {}) =>
  Type.String({ pattern, patternErrorMessage: rule, ...options });

const Listen = (description: string, dflt: string) =>
  Pattern(
    '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]+):\\d{1,5}$',
    'must be host:port, such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080',
    { description, default: dflt },
  );

/** Keys starting with `x-` are ignored anywhere, as in docker-compose: a place for YAML anchors. */
export const EXTENSION_KEY = '^x-';

const strict = <T extends Record<string, TSchema>>(props: T, description: string, extra: object = {}) =>
  Type.Object(props, {
    additionalProperties: false,
    patternProperties: { [EXTENSION_KEY]: {} },
    description,
    ...extra,
  });

/** The largest count any setting takes where the schema states no tighter bound. */
const MAX_COUNT = 1_000_000_000;

const Slo = strict(
  {
    latency_p95_ms: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'p95 latency objective (ms)' }),
    ),
    latency_p99_ms: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'p99 latency objective (ms)' }),
    ),
    error_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Max 5xx ratio (0..1)' })),
    availability: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Availability objective (0..1)' }),
    ),
  },
  'Service-level objectives; reach Lua as ctx.slo',
);

const RateLimit = strict(
  {
    rps: Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_COUNT,
      description: 'Sustained requests per second per key',
    }),
    burst: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_COUNT, description: 'Bucket size; defaults to rps' }),
    ),
    key: Pattern(
      '^(ip|route|global|api_key|header:[A-Za-z0-9-]+)$',
      'must be ip, route, global, api_key or header:<name> (letters, digits and "-")',
      {
        default: 'ip',
        description: 'What a bucket is kept per: ip, route, global, api_key or header:<name>',
      },
    ),
    algorithm: Type.Union([Type.Literal('token-bucket'), Type.Literal('sliding-window')], {
      default: 'token-bucket',
      description: 'token-bucket (bursty) or sliding-window (strict)',
    }),
  },
  'Rate limit; over it the gateway answers 429 with Retry-After and RateLimit-* headers',
);

const Traffic = strict(
  {
    rate_limit: Type.Optional(RateLimit),
    concurrency: Type.Optional(
      strict(
        {
          per_instance: Type.Integer({
            minimum: 1,
            maximum: 1_000_000,
            default: 100,
            description: 'Max requests in flight per ready instance',
          }),
          adaptive: Type.Boolean({
            default: false,
            description: 'Envoy-style gradient limit on top of per_instance',
          }),
        },
        'Concurrency limit per instance',
      ),
    ),
    queue: Type.Optional(
      strict(
        {
          max: Type.Integer({
            minimum: 0,
            maximum: 1_000_000,
            default: 1000,
            description: 'Requests that may wait for capacity (0 = no queue)',
          }),
          timeout: Duration('How long a request may wait before 503', '30s', '1ms', '1h'),
        },
        'Bounded, deadline-aware queue used while capacity is short (scale from zero, saturation)',
      ),
    ),
    timeouts: Type.Optional(
      strict(
        {
          connect: Duration('Upstream connect timeout', '5s', '1ms', '10m'),
          response: Duration('Upstream response (headers) timeout', '60s', '1ms'),
        },
        'Upstream timeouts',
      ),
    ),
    retries: Type.Optional(
      strict(
        {
          budget_percent: Type.Number({
            minimum: 0,
            maximum: 100,
            default: 20,
            description: 'Retries as % of requests',
          }),
        },
        'Retries of idempotent requests on connect errors and 503 from a draining instance',
      ),
    ),
    max_body: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Max request body bytes (413 beyond)',
      }),
    ),
    request_buffer: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 64 * 1024 * 1024,
        default: 1024 * 1024,
        description:
          'Request bodies up to this many bytes are read whole before admission, so a slow upload holds no concurrency slot (0 = always stream)',
      }),
    ),
  },
  'Admission: rate limits, queueing and shedding',
);

const Route = strict(
  {
    host: Type.Optional(Type.String({ description: 'Host header to match (exact, or *.example.com)' })),
    path: Type.Optional(
      Pattern('^/', 'must start with "/"', { description: 'Exact path or template such as /users/{id}' }),
    ),
    path_prefix: Type.Optional(Pattern('^/', 'must start with "/"', { description: 'Path prefix' })),
    methods: Type.Optional(
      Type.Array(Pattern('^[A-Z]+$', 'must be an HTTP method in capitals, such as GET'), {
        minItems: 1,
        description: 'Allowed methods',
      }),
    ),
    traffic: Type.Optional(Traffic),
  },
  'A route; the most specific match wins',
);

const ProcessProvider = strict(
  {
    command: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'argv of one instance' }),
    cwd: Type.Optional(Type.String({ description: 'Working directory (relative to the config file)' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra environment' })),
    port_env: Pattern(
      '^[A-Za-z_][A-Za-z0-9_]*$',
      'must be an environment variable name (letters, digits and "_", not starting with a digit)',
      { default: 'PORT', description: 'Env var that receives the free port' },
    ),
    health_path: Pattern('^/', 'must start with "/"', {
      default: '/healthz',
      description: 'Readiness probe path',
    }),
    start_timeout: Duration('Time an instance has to become ready', '30s', '100ms'),
    stop_grace: Duration('SIGTERM → SIGKILL grace period (0 = SIGKILL at once)', '10s', '0s', '1h'),
    log_dir: Type.Optional(Type.String({ description: 'Per-instance log files (default .luascale/logs)' })),
    memory_limit_mb: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 16_777_216, description: 'Memory that counts as 100 %' }),
    ),
  },
  'Local processes (the embedded default)',
);

const Provider = Type.Union(
  [
    strict({ process: ProcessProvider }, 'Local processes'),
    strict(
      {
        static: strict(
          {
            targets: Type.Array(Pattern('^https?://', 'must be a URL starting with http:// or https://'), {
              minItems: 1,
            }),
          },
          'Fixed targets; scaling is advisory',
        ),
      },
      'Fixed targets',
    ),
    strict(
      {
        exec: strict(
          {
            scale_command: Type.Array(Type.String(), {
              minItems: 1,
              description: 'Gets the desired count as last arg',
            }),
            list_command: Type.Array(Type.String(), { minItems: 1, description: 'Prints JSON targets' }),
            timeout: Duration('Command timeout', '30s', '100ms', '1h'),
            poll_interval: Duration('How often list_command runs', '5s', '100ms', '1h'),
            cwd: Type.Optional(
              Type.String({ description: 'Working directory (relative to the config file)' }),
            ),
            env: Type.Optional(
              Type.Record(Type.String(), Type.String(), { description: 'Extra environment' }),
            ),
          },
          'Any cloud CLI or script',
        ),
      },
      'Commands',
    ),
    strict(
      {
        kubernetes: strict(
          {
            namespace: Type.Optional(
              Type.String({
                description: "Default: the kubeconfig context's; in-cluster the pod's own; else default",
              }),
            ),
            kind: Type.Union([Type.Literal('Deployment'), Type.Literal('StatefulSet')], {
              default: 'Deployment',
            }),
            name: Type.String({ minLength: 1 }),
            kubeconfig: Type.Optional(
              Type.String({ description: 'kubeconfig path (default: in-cluster or ~/.kube/config)' }),
            ),
            service: Type.Optional(
              Type.String({
                minLength: 1,
                description: 'Service whose EndpointSlices list the pods (default: name)',
              }),
            ),
            port: Type.Optional(
              Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 1, maximum: 65535 })], {
                description: 'EndpointSlice port name or number (default: the first)',
              }),
            ),
            scheme: Type.Union([Type.Literal('http'), Type.Literal('https')], { default: 'http' }),
            route: Type.Union([Type.Literal('endpoints'), Type.Literal('service')], {
              default: 'endpoints',
              description: 'Route to each ready pod, or to the Service cluster address',
            }),
            service_url: Type.Optional(
              Pattern('^https?://', 'must be a URL starting with http:// or https://', {
                description: 'route: service: the URL (default http://<service>.<ns>.svc:80)',
              }),
            ),
            deletion_cost: Type.Boolean({
              default: true,
              description: 'Annotate drained pods with pod-deletion-cost (needs patch pods)',
            }),
          },
          'A Deployment or StatefulSet',
        ),
      },
      'Kubernetes',
    ),
  ],
  { description: 'Where instances run: exactly one of process, static, exec, kubernetes' },
);

const Step = (dflt: { stabilization: string; percent?: number; pods?: number }, description: string) =>
  strict(
    {
      // The HPA bounds stabilizationWindowSeconds to [0, 3600] and periodSeconds to [1, 1800].
      stabilization: Duration(
        'Window in which the most conservative recommendation wins',
        dflt.stabilization,
        '0s',
        '1h',
      ),
      max_step: strict(
        {
          percent: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 10_000, description: 'Max change in % per period' }),
          ),
          pods: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 10_000, description: 'Max change in instances per period' }),
          ),
          period: Duration('Period of the limit', '15s', '1s', '30m'),
          select: Type.Union([Type.Literal('max'), Type.Literal('min'), Type.Literal('disabled')], {
            default: 'max',
            description: 'Which limit wins when both are set (HPA selectPolicy)',
          }),
        },
        'Per-period change limit (HPA behavior policies)',
        {
          default: {
            ...(dflt.percent ? { percent: dflt.percent } : {}),
            ...(dflt.pods ? { pods: dflt.pods } : {}),
            period: '15s',
            select: 'max',
          },
        },
      ),
    },
    description,
    { default: {} },
  );

/** The `scaling.behavior` section (its defaults are the HPA's). */
export const Behavior = strict(
  {
    scale_up: Step({ stabilization: '0s', percent: 100, pods: 4 }, 'Scale-up behaviour (HPA defaults)'),
    scale_down: Step({ stabilization: '300s', percent: 100 }, 'Scale-down behaviour (HPA defaults)'),
    tolerance: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description: 'No change within ±tolerance',
    }),
    cooldown: Duration('No change for this long after a change (0 = off)', '0s', '0s', '24h'),
    panic: strict(
      {
        enabled: Type.Boolean({ default: true }),
        threshold: Type.Number({
          minimum: 1.1,
          maximum: 1000,
          default: 2,
          description: 'Enter when recommendation ≥ threshold × ready',
        }),
        hold: Duration('Stay in panic (no scale-down) this long after the last trigger', '60s', '0s', '24h'),
      },
      'Knative-style panic mode',
      { default: {} },
    ),
  },
  'Anti-flapping: stabilization windows, change limits, tolerance, cooldown, panic',
  { default: {} },
);

const PolicyRef = Type.Union(
  [
    Type.String({ minLength: 1, description: 'Path to a Lua policy (relative to the config file)' }),
    strict(
      {
        builtin: Type.String({
          minLength: 1,
          description: 'hpa, kpa, target-tracking, step, schedule, predictive, slo',
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
    description: 'A Lua file or { builtin, params }',
    default: { builtin: 'target-tracking', params: { metric: 'cpu', target: 60 } },
  },
);

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

const AlertRule = strict(
  {
    name: Type.Optional(Type.String()),
    metric: Type.String({ description: 'cpu, rps, latency.p95, error_rate, queue, shed_rps, replicas, ...' }),
    op: Type.Union(
      ['>', '>=', '<', '<=', '==', '!='].map((o) => Type.Literal(o)),
      { description: 'Comparison' },
    ),
    threshold: Type.Number(),
    for: Duration('How long the condition must hold', '0s', '0s'),
    severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')], {
      default: 'warning',
    }),
  },
  'An alert rule',
);

const MetricSource = strict(
  {
    name: Pattern(
      '^[A-Za-z_][A-Za-z0-9_]*$',
      'must be a Lua identifier (letters, digits and "_", not starting with a digit)',
      { description: 'ctx.metrics name' },
    ),
    http: Type.Optional(strict({ url: Type.String(), json_path: Type.String() }, 'HTTP JSON endpoint')),
    prometheus: Type.Optional(strict({ url: Type.String(), query: Type.String() }, 'PromQL instant query')),
    interval: Duration('Poll interval', '5s', '100ms', '24h'),
    timeout: Duration('Request timeout', '2s', '1ms', '10m'),
  },
  'A custom metric source',
);

const Service = strict(
  {
    routes: Type.Array(Route, {
      default: [{ path_prefix: '/' }],
      description: 'Routes served by this service',
    }),
    openapi: Type.Optional(
      Type.String({ description: 'OpenAPI 2.0/3.x document (routes, operationIds, SLOs)' }),
    ),
    validate_requests: Type.Boolean({
      default: false,
      description:
        'Check requests against the OpenAPI document: 400 naming the field (parameters, JSON body), 404 when no operation matches',
    }),
    provider: Provider,
    scaling: Scaling,
    traffic: Type.Optional(Traffic),
    health: Type.Optional(
      strict(
        {
          path: Type.Optional(Pattern('^/', 'must start with "/"')),
          interval: Duration('Active probe interval', '5s', '100ms', '1h'),
          unhealthy_threshold: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
          healthy_threshold: Type.Integer({ minimum: 1, maximum: 1000, default: 2 }),
          slow_start: Duration('Ramp-up of a new instance share (0 = off)', '10s', '0s', '1h'),
          timeout: Duration('Active probe timeout', '1s', '1ms', '10m'),
          consecutive_errors: Type.Integer({
            minimum: 1,
            maximum: 1000,
            default: 5,
            description: 'Consecutive 5xx or connect errors on real traffic that eject an instance',
          }),
          base_ejection: Duration('First ejection; doubles with each ejection in a row', '10s', '1ms', '1h'),
          max_ejection: Duration('Longest ejection', '5m', '1ms'),
          max_ejection_percent: Type.Number({
            minimum: 0,
            maximum: 100,
            default: 50,
            description: 'At most this % of instances ejected at once (always at least one may be)',
          }),
          slow_start_min_weight: Type.Number({
            minimum: 0,
            maximum: 1,
            default: 0.1,
            description: 'Share a new instance starts its slow start with (0..1)',
          }),
        },
        'Active and passive health checking',
      ),
    ),
    upstream: Type.Optional(
      strict(
        {
          connections: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100_000,
              description:
                'Connections per instance (default 64, or concurrency.per_instance when larger); requests beyond them wait in the admission queue, never in the HTTP client',
            }),
          ),
          keep_alive: Duration('Idle time before an upstream connection is closed', '4s', '1ms', '1h'),
        },
        'Connections to the instances',
      ),
    ),
    balancer: Type.Optional(
      strict(
        {
          algorithm: Type.Union(
            [Type.Literal('p2c-ewma'), Type.Literal('round-robin'), Type.Literal('consistent-hash')],
            { default: 'p2c-ewma' },
          ),
          hash_key: Type.Optional(
            Pattern(
              '^(ip|header:[A-Za-z0-9-]+|cookie:[^\\s;=]+)$',
              'must be ip, header:<name> or cookie:<name>',
            ),
          ),
        },
        'Load balancing',
      ),
    ),
    alerts: Type.Optional(Type.Array(AlertRule)),
    metrics: Type.Optional(Type.Array(MetricSource)),
  },
  'A service behind the gateway',
);

const SERVICE_NAME = '^(?!x-)[a-z0-9][a-z0-9_-]{0,62}$';
/** What a service name must look like, in words. */
const SERVICE_NAME_RULE =
  'a service name must be lowercase letters, digits, "-" or "_" (at most 63 characters, not starting with x-)';

const Services = Type.Record(Type.String({ pattern: SERVICE_NAME }), Service, {
  minProperties: 1,
  // Without this a name outside the pattern ("" or "Web") skips validation entirely.
  additionalProperties: false,
  description: 'Services by name',
  patternErrorMessage: SERVICE_NAME_RULE,
});
// Names starting with x- are extension keys (ignored); the name pattern excludes them. The name
// pattern stays first: applyDefaults fills the values of the first pattern.
(Services.patternProperties as Record<string, TSchema>)[EXTENSION_KEY] = Type.Unknown();

/** The whole `luascale.yaml`. */
export const ConfigSchema = strict(
  {
    gateway: strict(
      {
        listen: Listen('Gateway listener host:port', '127.0.0.1:8080'),
        workers: Type.Integer({
          minimum: 1,
          maximum: 64,
          default: 1,
          description: 'Processes sharing the listener',
        }),
        access_log: Type.Union([Type.Literal('off'), Type.Literal('sampled'), Type.Literal('full')], {
          default: 'sampled',
          description:
            'Access log: one JSON line per request; sampled writes access_log_sample of the requests and every 5xx',
        }),
        access_log_file: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Access log file, appended to (relative to the config file); default stdout',
          }),
        ),
        access_log_sample: Type.Number({
          minimum: 0,
          maximum: 1,
          default: 0.01,
          description: 'Fraction of non-error requests written in sampled mode',
        }),
        max_header_bytes: Type.Integer({
          minimum: 1024,
          maximum: 1_048_576,
          default: 16384,
          description: '431 beyond',
        }),
        request_timeout: Duration('Time to receive a whole request (408 beyond)', '30s', '100ms'),
        trusted_proxies: Type.Array(Type.String({ minLength: 1, maxLength: 50 }), {
          default: [],
          maxItems: 1000,
          description:
            'Load balancers and CDNs in front (IPv4/IPv6 CIDRs or addresses, such as 10.0.0.0/8 or fd00::/8). From them the client IP is the right-most X-Forwarded-For (else Forwarded for=) entry that is not itself trusted, and their forwarding headers are appended to; from other peers the peer is the client and those headers are replaced',
        }),
        drain_timeout: Duration('SIGTERM: time to finish in-flight requests', '30s', '100ms', '1h'),
      },
      'The gateway listener',
      { default: {} },
    ),
    admin: strict(
      {
        listen: Listen('Admin API, dashboard and /metrics listener', '127.0.0.1:9090'),
        token: Type.String({ default: '', description: 'Bearer token (required on non-loopback listeners)' }),
        allowed_hosts: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
          default: [],
          description:
            'Extra Host names the admin API answers to (the listener address, localhost and, on a wildcard listener, the machine names and addresses always are); "*" = any. Other Host values get 403, against DNS rebinding',
        }),
      },
      'The admin listener',
      { default: {} },
    ),
    store: strict(
      {
        sqlite: Type.Optional(
          Type.String({
            description:
              'SQLite file (default ./luascale.db; with redis ./luascale-<gateway port>.db, one per node): with redis it keeps only this node’s metric history and instance records',
          }),
        ),
        redis: Type.Optional(
          Pattern('^rediss?://', 'must be a URL starting with redis:// or rediss://', {
            description: 'Cluster mode: shared Redis',
          }),
        ),
      },
      'Where events, metric history and state are kept',
      { default: { sqlite: './luascale.db' } },
    ),
    alerts: Type.Optional(
      strict(
        {
          webhook: Type.Optional(
            Pattern('^https?://', 'must be a URL starting with http:// or https://', {
              description: 'Alertmanager-compatible webhook',
            }),
          ),
          repeat_interval: Duration('Re-send a firing alert this often', '4h', '1s'),
        },
        'Alert notifiers',
      ),
    ),
    services: Services,
  },
  'luascale configuration',
  { $id: 'https://luascale.dev/schema/luascale.schema.json', title: 'luascale.yaml' },
);

/** The configuration after defaults, as parsed (durations still as written). */
export type Config = Static<typeof ConfigSchema>;
/** One service's configuration. */
export type ServiceConfig = Static<typeof Service>;
/** A service's `scaling` section. */
export type ScalingConfig = Static<typeof Scaling>;
/** A service's `traffic` section. */
export type TrafficConfig = Static<typeof Traffic>;
/** One route. */
export type RouteConfig = Static<typeof Route>;
/** A Lua file path or a built-in reference. */
export type PolicyRefConfig = Static<typeof PolicyRef>;

/**
 * The schema users write against: a property with a default is optional in the input.
 * (TypeBox marks it required, which is right for the loaded, defaulted `Config` type.)
 */
export function inputSchema<T>(schema: T): T {
  const walk = (s: any): any => {
    if (Array.isArray(s)) return s.map(walk);
    if (s === null || typeof s !== 'object') return s;
    const out: any = {};
    for (const [k, v] of Object.entries(s)) out[k] = walk(v);
    if (out.type === 'object' && Array.isArray(out.required) && out.properties) {
      out.required = out.required.filter((k: string) => !('default' in (out.properties[k] ?? {})));
      if (out.required.length === 0) delete out.required;
    }
    return out;
  };
  return walk(schema);
}

/** The published JSON Schema of `luascale.yaml` (schema/luascale.schema.json). */
export const ConfigInputSchema = inputSchema(ConfigSchema);
