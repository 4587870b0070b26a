/**
 * The admin listener: REST API (described by /openapi.json), SSE event stream, Prometheus
 * /metrics, health probes, the API docs page and the dashboard.
 *
 * Why fastify: routes are declared with JSON Schemas that validate requests, serialise responses
 * and generate the OpenAPI 3.1 document (@fastify/swagger) — one source, as the config schema is;
 * its error codes are stable; @fastify/swagger-ui serves the docs page from the package (no CDN).
 */
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { LuascaleError, isLuascaleError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { Decision } from '../controller/decision.js';
import * as S from './admin-schemas.js';
import { requestGuard } from './request-guard.js';
import { clipUrl, failures, hostFailure, sendError } from './admin-errors.js';
import { registerServiceRoutes } from './service-routes.js';
import { lazySerializers, lazyValidator } from './lazy-compilers.js';
import { registerEventRoutes } from './event-routes.js';
import { registerKeyRoutes, type AdminKeys } from './key-routes.js';
import { registerUsageRoutes, type AdminUsage } from './usage-routes.js';
import { PACKAGED_DASHBOARD_DIR, registerDashboardRoutes } from './dashboard-routes.js';

export { MAX_OVERRIDE_TTL_MS } from './service-routes.js';
export { PACKAGED_DASHBOARD_DIR } from './dashboard-routes.js';

/** What `PUT /v1/services/{name}/policy` installs: Lua source (with the user's file name) or a built-in. */
export type PolicySpec =
  { source: string; file?: string } | { builtin: string; params?: Record<string, unknown> };

/** A stored or live event as the API shows it. */
export interface AdminEvent {
  id: number;
  service: string;
  type: string;
  at: number;
  data: Record<string, unknown>;
}

/** What the admin API needs from the running luascale (the app wires it). */
export interface AdminBackend {
  services(): Array<Record<string, unknown> & { name: string }>;
  service(name: string): (Record<string, unknown> & { name: string }) | undefined;
  scale(name: string, replicas: number, ttlMs?: number): void;
  clearScale(name: string): void;
  setPaused(name: string, paused: boolean): void;
  /**
   * Validates (trial evaluations included) then swaps the policy; throws LuascaleError and keeps
   * the old one when invalid. Resolves to the new policy's name.
   */
  reloadPolicy(name: string, spec: PolicySpec): Promise<{ policy: string }>;
  evalPolicy(policy: S.EvalRequestBody['policy'], input: Record<string, unknown>): Promise<Decision>;
  events(query: {
    service?: string;
    since?: number;
    afterId?: number;
    beforeId?: number;
    limit: number;
    /** `desc`: the newest first. */
    order?: 'asc' | 'desc';
  }): AdminEvent[] | Promise<AdminEvent[]>;
  subscribe(listener: (event: AdminEvent) => void): () => void;
  metricsQuery(
    service: string,
    metric: string,
    windowS: number,
  ):
    | { step: number; points: Array<[number, number]> }
    | Promise<{ step: number; points: Array<[number, number]> }>;
  metricsText(): Promise<string>;
  ready(): boolean;
  /** Consumers' API keys (src/admin/key-routes.ts); without it the key routes answer 404. */
  keys?: AdminKeys;
  /** The usage ledger (src/admin/usage-routes.ts); without it GET /v1/usage answers 404. */
  usage?: AdminUsage;
}

/** Admin listener options. */
export interface AdminServerOptions {
  host: string;
  port: number;
  token: string;
  backend: AdminBackend;
  /** Built dashboard (scripts/build-dashboard.mjs); default: the packaged build if present; '' = none. */
  dashboardDir?: string;
  /** Failed auth attempts allowed per client per minute before 429. */
  authFailuresPerMinute?: number;
  /** Extra Host names the API answers to (`admin.allowed_hosts`); `*` = any. */
  allowedHosts?: string[];
  /** Wall clock for TTLs and the auth limiter (tests). */
  now?: () => number;
  /** The node server fastify runs on (the app passes one that terminates TLS for `admin.tls`). */
  serverFactory?: FastifyServerFactory;
}

const BODY_LIMIT = 1_048_576;

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** Builds the admin app (not listening); throws when a non-loopback listener has no token. */
export async function buildAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  if (!isLoopback(options.host) && !options.token) {
    throw new LuascaleError('LS_ERR_ADMIN_NO_TOKEN', { listen: `${options.host}:${options.port}` });
  }
  const app = Fastify({
    logger: false,
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
    bodyLimit: BODY_LIMIT,
    // Response serializers compile on a route's first reply, not all at start (lazy-compilers.ts).
    schemaController: { compilersFactory: { buildSerializer: lazySerializers() } },
    // A bad percent-encoding is answered in our error shape, not fastify's.
    frameworkErrors: (err, req, reply) =>
      sendError(
        reply,
        new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', { reason: `${err.message}: ${clipUrl(req.url)}` }),
      ),
  });
  // Bodies are validated without coercion: `{"replicas": null}` or `"1e1"` is a 400, never a 0 or a 10.
  // Query strings and path parameters are text, so they keep ajv's coercion.
  // validateSchema: false: these are our own schemas (the /openapi.json lint test checks them);
  // checking each against the meta-schema compiled that meta-schema on every start (~50 ms).
  const strict = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    validateSchema: false,
  });
  const coercing = new Ajv({
    coerceTypes: 'array',
    useDefaults: true,
    removeAdditional: false,
    validateSchema: false,
  });
  for (const schema of S.SHARED_SCHEMAS) {
    strict.addSchema(schema);
    coercing.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) =>
    lazyValidator(() => (httpPart === 'body' ? strict : coercing).compile(schema as object)),
  );
  // Only JSON bodies: fastify's default text/plain parser would let a plain HTML form (no CORS
  // preflight) reach the mutating routes.
  app.removeContentTypeParser('text/plain');

  const routes: Array<{ method: string; url: string; hidden: boolean }> = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (r) => {
    // The docs page is served by @fastify/swagger-ui; it and its assets hold no data.
    if (r.url === '/docs' || r.url.startsWith('/docs/'))
      r.config = { ...(r.config as object), public: true } as typeof r.config;
    for (const m of [r.method].flat())
      if (m !== 'HEAD') routes.push({ method: m, url: r.url, hidden: Boolean((r.schema as any)?.hide) });
  });
  for (const schema of S.SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'luascale admin API',
        version: '0.1.0',
        description: 'Inspect and steer the autoscaler',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Relative to where /openapi.json was fetched from: this admin listener (OpenAPI 3.1 §4.8.5).
      servers: [{ url: '/', description: 'This admin listener' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });

  const backend = options.backend;
  const now = options.now ?? Date.now;
  const guard = requestGuard({
    host: options.host,
    token: options.token,
    allowedHosts: options.allowedHosts,
    authFailuresPerMinute: options.authFailuresPerMinute,
    now,
  });
  app.addHook('onRequest', async (req, reply) => {
    const verdict = guard(req);
    if (!verdict) return;
    for (const [k, v] of Object.entries(verdict.headers ?? {})) reply.header(k, v);
    return sendError(reply, verdict.error);
  });

  // Event streams are hijacked (fastify no longer tracks them): end them on close, or a connected
  // `luascale events -f` or dashboard tab would hold `up` open past its drain timeout.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
    for (const res of streams) res.socket?.destroySoon();
    streams.clear();
  });

  app.setErrorHandler((err: any, _req, reply) => {
    if (isLuascaleError(err)) return sendError(reply, err);
    if (err.validation)
      return sendError(reply, new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', { reason: err.message }));
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, new LuascaleError('LS_ERR_ADMIN_BODY_TOO_LARGE', { limit: BODY_LIMIT }));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(
          reply,
          new LuascaleError('LS_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE', {
            type: String(_req.headers['content-type'] ?? '').slice(0, 100),
          }),
        );
    }
    if (err.statusCode && err.statusCode < 500)
      return sendError(reply, new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', { reason: err.message }));
    return sendError(reply, new LuascaleError('LS_ERR_ADMIN_INTERNAL'));
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new LuascaleError('LS_ERR_ADMIN_NOT_FOUND', {
        method: req.method,
        path: clipUrl(req.url.split('?')[0]!),
      }),
    ),
  );

  const named = (name: string) => {
    const s = backend.service(name);
    if (!s) throw new LuascaleError('LS_ERR_ADMIN_NO_SERVICE', { name });
    return s;
  };
  const nameParam = {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 63 } },
    required: ['name'],
  };
  const open = { config: { public: true } };

  app.get(
    '/healthz',
    {
      ...open,
      schema: {
        operationId: 'liveness',
        tags: ['health'],
        summary: 'Liveness',
        security: [],
        response: { 200: Type.Ref('Ok'), ...hostFailure() },
      },
    },
    async () => ({ ok: true }),
  );
  app.get(
    '/readyz',
    {
      ...open,
      schema: {
        operationId: 'readiness',
        tags: ['health'],
        summary: 'Readiness: controllers and gateway started',
        security: [],
        response: { 200: Type.Ref('Ok'), 503: Type.Ref('Ok'), ...hostFailure() },
      },
    },
    async (_req, reply) => (backend.ready() ? { ok: true } : reply.code(503).send({ ok: false })),
  );
  app.get(
    '/metrics',
    {
      ...open,
      schema: {
        operationId: 'prometheusMetrics',
        tags: ['metrics'],
        summary: 'Prometheus exposition',
        security: [],
        produces: ['text/plain'],
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...hostFailure(),
        },
      },
    },
    async (_req, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await backend.metricsText()),
  );
  app.get(
    '/v1/metrics/query',
    {
      schema: {
        operationId: 'queryMetrics',
        tags: ['metrics'],
        summary: 'A metric of a service over a window, from the store',
        querystring: {
          type: 'object',
          properties: {
            service: { type: 'string' },
            metric: { type: 'string', default: 'rps' },
            window: { type: 'string', default: '15m', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d)?$' },
          },
          required: ['service'],
          additionalProperties: false,
        },
        response: { 200: Type.Ref('MetricSeries'), ...failures(400, 404) },
      },
    },
    async (req) => {
      const q = req.query as { service: string; metric: string; window: string };
      named(q.service);
      const windowS = Math.min(30 * 86400, Math.max(1, parseDuration(q.window) / 1000));
      return {
        service: q.service,
        metric: q.metric,
        ...(await backend.metricsQuery(q.service, q.metric, windowS)),
      };
    },
  );
  app.get('/openapi.json', { ...open, schema: { hide: true } }, async () => app.swagger());
  registerServiceRoutes(app, { backend, named, nameParam, now });
  registerEventRoutes(app, { backend, named, streams });
  registerKeyRoutes(app, backend.keys);
  registerUsageRoutes(app, backend.usage);
  registerDashboardRoutes(app, options.dashboardDir ?? PACKAGED_DASHBOARD_DIR);
  return app;
}

const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string; hidden: boolean }>>();

/** The API routes as registered (method, url), for the "every route is documented" test. */
export function registeredRoutes(
  app: FastifyInstance,
): Array<{ method: string; url: string; hidden: boolean }> {
  return ROUTES.get(app) ?? [];
}
