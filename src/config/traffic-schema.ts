/** The schema of a service's or a route's `traffic` section (admission) and of a route. */
import { Type } from '@sinclair/typebox';
import { Duration, MAX_COUNT, Pattern, strict } from './schema-primitives.js';
import { Auth } from './consumers-schema.js';

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
      '^(ip|route|global|api_key|consumer|header:[A-Za-z0-9-]+)$',
      'must be ip, route, global, api_key, consumer or header:<name> (letters, digits and "-")',
      {
        default: 'ip',
        description:
          "What a bucket is kept per: ip, route, global, api_key, consumer (the API key's consumer on routes with auth: key, else ip) or header:<name>",
      },
    ),
    algorithm: Type.Union([Type.Literal('token-bucket'), Type.Literal('sliding-window')], {
      default: 'token-bucket',
      description: 'token-bucket (bursty) or sliding-window (strict)',
    }),
  },
  'Rate limit; over it the gateway answers 429 with Retry-After and RateLimit-* headers',
);

/** Admission: rate limits, concurrency, queueing, timeouts, retries, body limits. */
export const Traffic = strict(
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

/** One route of a service. */
export const Route = strict(
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
    auth: Type.Optional(Auth),
  },
  'A route; the most specific match wins',
);
