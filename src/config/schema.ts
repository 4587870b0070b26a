/**
 * The one configuration schema (house style §4). It yields the validator (ajv), the TypeScript
 * types (`Static`), the published `schema/luascale.schema.json` and the table in `docs/config.md`.
 * A test fails when a generated file is out of date (`npm run gen` rewrites them).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Behavior } from './behavior-schema.js';
import { Provider } from './provider-schema.js';
import { PolicyRef, Scaling } from './scaling-schema.js';
import { DURATION_RULE, Duration, EXTENSION_KEY, Listen, Pattern, strict } from './schema-primitives.js';
import { Route, Traffic } from './traffic-schema.js';
import { Auth, Consumers } from './consumers-schema.js';
import { GatewayHttp2, ListenerTls, UpstreamProtocol, UpstreamTls } from './tls-http2-schema.js';
import { Llm } from './llm-schema.js';

export { Behavior, DURATION_RULE, EXTENSION_KEY, Scaling };

const AlertRule = strict(
  {
    name: Type.Optional(Type.String()),
    metric: Type.String({
      description:
        'A catalogue signal (docs/signals.md: cpu, rps, latency.p95, error_rate, queue, replicas, ...) or a metric source by name',
    }),
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
    proto: Type.Optional(
      Type.String({
        description:
          'A gRPC .proto file: each rpc becomes an operation package.Service/Method (routes, per-method signals; SLOs from x-luascale-slo comment lines)',
      }),
    ),
    validate_requests: Type.Boolean({
      default: false,
      description:
        'Check requests against the OpenAPI document: 400 naming the field (parameters, JSON body), 404 when no operation matches (a CORS preflight goes on to the instance)',
    }),
    provider: Provider,
    scaling: Scaling,
    traffic: Type.Optional(Traffic),
    auth: Type.Optional(Auth),
    llm: Type.Optional(Llm),
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
          protocol: UpstreamProtocol,
          tls: Type.Optional(UpstreamTls),
          client: Type.Optional(
            Type.Union([Type.Literal('lean'), Type.Literal('undici')], {
              description:
                "HTTP/1.1 client towards plain http:// instances: 'lean' (the default: keep-alive sockets parsed by node's own llhttp, less CPU per request) or 'undici'",
            }),
          ),
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
        keep_alive_timeout: Duration(
          'Idle time before a client connection is closed: HTTP/1.1 keep-alive, and HTTP/2 with no open stream (GOAWAY)',
          '5s',
          '100ms',
          '1h',
        ),
        trusted_proxies: Type.Array(Type.String({ minLength: 1, maxLength: 50 }), {
          default: [],
          maxItems: 1000,
          description:
            'Load balancers and CDNs in front (IPv4/IPv6 CIDRs or addresses, such as 10.0.0.0/8 or fd00::/8). From them the client IP is the right-most X-Forwarded-For (else Forwarded for=) entry that is not itself trusted, and their forwarding headers are appended to; from other peers the peer is the client and those headers are replaced',
        }),
        drain_timeout: Duration('SIGTERM: time to finish in-flight requests', '30s', '100ms', '1h'),
        http2: GatewayHttp2,
        tls: Type.Optional(ListenerTls),
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
        tls: Type.Optional(ListenerTls),
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
    consumers: Consumers,
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
