/**
 * The admin listener: REST API (described by /openapi.json), SSE event stream, Prometheus
 * /metrics, health probes, the API docs page and the dashboard.
 *
 * Why fastify: routes are declared with JSON Schemas that validate requests, serialise responses
 * and generate the OpenAPI 3.1 document (@fastify/swagger) — one source, as the config schema is;
 * its error codes are stable; @fastify/swagger-ui serves the docs page from the package (no CDN).
 */
import type { ServerResponse } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { LuascaleError, isLuascaleError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { Decision } from '../controller/decision.js';
import * as S from './admin-schemas.js';
import { requestGuard } from './request-guard.js';

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
}

/** The longest manual override TTL; a longer one is a typo, and `now + ttl` must stay a date. */
export const MAX_OVERRIDE_TTL_MS = 366 * 86_400_000;
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
    bodyLimit: BODY_LIMIT,
    // A bad percent-encoding is answered in our error shape, not fastify's.
    frameworkErrors: (err, req, reply) =>
      sendError(
        reply,
        new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', { reason: `${err.message}: ${clipUrl(req.url)}` }),
      ),
  });
  // Bodies are validated without coercion: `{"replicas": null}` or `"1e1"` is a 400, never a 0 or a 10.
  // Query strings and path parameters are text, so they keep ajv's coercion.
  const strict = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
  });
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false });
  for (const schema of S.SHARED_SCHEMAS) {
    strict.addSchema(schema);
    coercing.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object),
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
    '/v1/services',
    {
      schema: {
        operationId: 'listServices',
        tags: ['services'],
        summary: 'Every service with replicas and signals',
        response: { 200: Type.Array(Type.Ref('ServiceSummary')), ...failures() },
      },
    },
    async () => backend.services(),
  );
  app.get(
    '/v1/services/:name',
    {
      schema: {
        operationId: 'getService',
        tags: ['services'],
        summary: 'One service: instances, last decision, signals, operations',
        params: nameParam,
        response: { 200: S.ServiceDetail, ...failures(400, 404) },
      },
    },
    async (req) => named((req.params as { name: string }).name),
  );
  app.post(
    '/v1/services/:name/scale',
    {
      schema: {
        operationId: 'scaleService',
        tags: ['services'],
        summary: 'Set a manual override, optionally with a TTL; the answer says where it was clamped',
        params: nameParam,
        body: Type.Ref('ScaleRequest'),
        response: { 200: Type.Ref('ScaleResult'), ...failures(400, 404, 413, 415) },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const body = req.body as S.ScaleRequestBody;
      const svc = named(name) as { min?: number; max?: number; paused?: boolean };
      const ttlMs = body.ttl === undefined ? undefined : overrideTtl(body.ttl);
      backend.scale(name, body.replicas, ttlMs);
      const min = svc.min ?? 0;
      const max = svc.max ?? body.replicas;
      const replicas = Math.min(max, Math.max(min, body.replicas));
      return {
        ok: true,
        requested: body.replicas,
        replicas,
        clamped: replicas !== body.replicas,
        min,
        max,
        paused: Boolean(svc.paused),
        until: ttlMs === undefined ? null : now() + ttlMs,
      };
    },
  );
  app.delete(
    '/v1/services/:name/scale',
    {
      schema: {
        operationId: 'clearScaleOverride',
        tags: ['services'],
        summary: 'Clear the manual override',
        params: nameParam,
        response: { 200: Type.Ref('Ok'), ...failures(400, 404) },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      named(name);
      backend.clearScale(name);
      return { ok: true };
    },
  );
  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(
      `/v1/services/:name/${verb}`,
      {
        schema: {
          operationId: paused ? 'pauseService' : 'resumeService',
          tags: ['services'],
          summary: paused ? 'Pause scaling' : 'Resume scaling',
          params: nameParam,
          response: { 200: Type.Ref('Ok'), ...failures(400, 404, 413, 415) },
        },
      },
      async (req) => {
        const { name } = req.params as { name: string };
        named(name);
        backend.setPaused(name, paused);
        return { ok: true };
      },
    );
  }
  app.put(
    '/v1/services/:name/policy',
    {
      schema: {
        operationId: 'reloadPolicy',
        tags: ['policies'],
        summary:
          'Hot-reload the policy: Lua source or a built-in, trial-evaluated first; on error 422 and the old one stays',
        params: nameParam,
        body: Type.Ref('PolicyReload'),
        response: { 200: Type.Ref('PolicyReloadResult'), ...failures(400, 404, 413, 415, 422) },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      named(name);
      const { policy } = await backend.reloadPolicy(name, req.body as PolicySpec);
      return { ok: true, policy };
    },
  );
  app.post(
    '/v1/policies/eval',
    {
      schema: {
        operationId: 'evalPolicy',
        tags: ['policies'],
        summary: 'Dry run: a policy and inputs in, a Decision out',
        body: Type.Ref('EvalRequest'),
        response: { 200: Type.Ref('EvalResult'), ...failures(400, 413, 415, 422) },
      },
    },
    async (req) => {
      const body = req.body as S.EvalRequestBody;
      const d = await backend.evalPolicy(body.policy, body.input);
      const o = d.policy.outcome;
      return {
        replicas: d.replicas,
        reason: d.reason,
        message: d.message,
        logs: o.logs,
        alerts: o.alerts,
        decision: d,
      };
    },
  );
  const eventFilter = {
    service: { type: 'string', maxLength: 63, description: 'Only this service (404 when unknown)' },
    after: { type: 'integer', minimum: 0, description: 'Only events after this id' },
  };
  app.get(
    '/v1/events',
    {
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'Recorded events, paginated by id; `order=desc` gives the newest first',
        querystring: {
          type: 'object',
          properties: {
            ...eventFilter,
            since: { type: 'number', minimum: 0, description: 'Only events at or after this epoch ms' },
            before: { type: 'integer', minimum: 1, description: 'Only events before this id' },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          additionalProperties: false,
        },
        response: { 200: Type.Ref('EventPage'), ...failures(400, 404) },
      },
    },
    async (req) => {
      const q = req.query as {
        service?: string;
        since?: number;
        after?: number;
        before?: number;
        order: 'asc' | 'desc';
        limit: number;
      };
      if (q.service !== undefined) named(q.service);
      const events = await backend.events({
        service: q.service,
        since: q.since,
        afterId: q.after,
        beforeId: q.before,
        order: q.order,
        limit: q.limit,
      });
      return { events, next: events.length === q.limit ? events[events.length - 1]!.id : null };
    },
  );
  app.get(
    '/v1/events/stream',
    {
      config: { queryToken: true },
      schema: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary:
          'Server-Sent Events: every new event as `data: {json}` with its `id`; `after` (or Last-Event-ID) replays stored events after that id first',
        querystring: {
          type: 'object',
          properties: {
            ...eventFilter,
            access_token: { type: 'string', description: 'The token, for EventSource (cannot send headers)' },
          },
          additionalProperties: false,
        },
        produces: ['text/event-stream'],
        response: {
          200: {
            description: 'The event stream (the handler writes it; not serialized by a schema)',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...failures(400, 404),
        },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as { service?: string; after?: number };
      const service = q.service;
      if (service !== undefined) named(service);
      const lastId = Number(req.headers['last-event-id']);
      const after = q.after ?? (Number.isSafeInteger(lastId) && lastId >= 0 ? lastId : undefined);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      streams.add(raw);
      let sent = after ?? 0;
      // Stored events have ids > 0 and are sent once, in order; live-only ones (per-tick signals,
      // id 0) carry no `id:` line, so a reconnecting EventSource resumes after the last stored one.
      const send = (e: AdminEvent) => {
        if (service && e.service !== service) return;
        if (e.id > 0) {
          if (e.id <= sent) return;
          sent = e.id;
          raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        } else raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // Live events that arrive while the backlog is read wait here, so none is lost or repeated.
      let backlog: AdminEvent[] | null = after === undefined ? null : [];
      const unsubscribe = backend.subscribe((e) => (backlog ? backlog.push(e) : send(e)));
      const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
      ping.unref();
      raw.on('close', () => {
        clearInterval(ping);
        unsubscribe();
        streams.delete(raw);
      });
      if (backlog) {
        try {
          for (let page = 0; page < 100; page++) {
            const stored = await backend.events({ service, afterId: sent, limit: 1000, order: 'asc' });
            for (const e of stored) send(e);
            if (stored.length < 1000) break;
          }
        } finally {
          const live = backlog;
          backlog = null;
          for (const e of live) send(e);
        }
      }
    },
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
  const dashboard = loadDashboard(options.dashboardDir ?? PACKAGED_DASHBOARD_DIR);
  if (dashboard) {
    // The page holds no data (it reads /v1/* with the token), so it and its assets are public.
    app.get('/', { ...open, schema: { hide: true } }, async (_req, reply) =>
      sendFile(
        reply.header('content-security-policy', DASHBOARD_CSP),
        dashboard.get('index.html')!,
        'no-cache',
      ),
    );
    app.get('/assets/:file', { ...open, schema: { hide: true } }, async (req, reply) => {
      const file = dashboard.get(`assets/${(req.params as { file: string }).file}`);
      if (!file)
        return sendError(
          reply,
          new LuascaleError('LS_ERR_ADMIN_NOT_FOUND', {
            method: 'GET',
            path: clipUrl(req.url.split('?')[0]!),
          }),
        );
      return sendFile(reply, file, 'public, max-age=31536000, immutable'); // names carry a content hash
    });
  }
  return app;
}

/** Where `npm run build` puts the dashboard; the same relative path works from src/admin and dist/admin. */
export const PACKAGED_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));
const DASHBOARD_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
  '.txt': 'text/plain',
};

/** Reads the built dashboard into memory (a few files, ~100 KB); null when not built. */
function loadDashboard(dir: string): Map<string, { body: Buffer; type: string }> | null {
  if (!dir || !existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, { body: Buffer; type: string }>();
  const add = (name: string) =>
    files.set(name, {
      body: readFileSync(join(dir, name)),
      type: `${TYPES[extname(name)] ?? 'application/octet-stream'}; charset=utf-8`,
    });
  add('index.html');
  if (existsSync(join(dir, 'assets'))) for (const f of readdirSync(join(dir, 'assets'))) add(`assets/${f}`);
  return files;
}

function sendFile(reply: FastifyReply, file: { body: Buffer; type: string }, cacheControl: string) {
  return reply
    .type(file.type)
    .header('cache-control', cacheControl)
    .header('x-content-type-options', 'nosniff')
    .send(file.body);
}

const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string; hidden: boolean }>>();

/** The API routes as registered (method, url), for the "every route is documented" test. */
export function registeredRoutes(
  app: FastifyInstance,
): Array<{ method: string; url: string; hidden: boolean }> {
  return ROUTES.get(app) ?? [];
}

function sendError(reply: FastifyReply, err: LuascaleError) {
  return reply
    .code(err.status)
    .type('application/json')
    .send({ error: { code: err.code, message: err.message } });
}

/** A target as it may appear in a message: bounded, so a 64 KiB URL is not echoed back. */
function clipUrl(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}…` : url;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request: a parameter or body field is invalid (the message names it)',
  401: 'Missing or wrong bearer token',
  403: 'Cross-site request, or a Host that is not this listener',
  404: 'No such route or service',
  413: 'Body over 1 MiB',
  415: 'Body is not application/json',
  422: 'The policy failed to load or its trial evaluations failed',
  429: 'Too many failed token attempts',
  500: 'Internal error',
};

/** The error responses of a route for /openapi.json: the given ones plus those every route can give. */
function failures(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    [...statuses, 401, 403, 429, 500].map((s) => [s, { ...Type.Ref('Error'), description: STATUS_TEXT[s] }]),
  );
}

/** The error a public route can still give: a Host that is not a name of this listener (403). */
function hostFailure(): Record<number, unknown> {
  return { 403: { ...Type.Ref('Error'), description: STATUS_TEXT[403] } };
}

/** A manual override's TTL: positive and at most {@link MAX_OVERRIDE_TTL_MS}, else a 400. */
function overrideTtl(ttl: string): number {
  const ms = parseDuration(ttl);
  if (!(ms > 0) || ms > MAX_OVERRIDE_TTL_MS)
    throw new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', {
      reason: `body/ttl must be more than 0 and at most 366d, got "${ttl}"`,
    });
  return ms;
}
