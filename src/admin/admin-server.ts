/**
 * The admin listener: REST API (described by /openapi.json), SSE event stream, Prometheus
 * /metrics, health probes, the API docs page and the dashboard.
 *
 * Why fastify: routes are declared with JSON Schemas that validate requests, serialise responses
 * and generate the OpenAPI 3.1 document (@fastify/swagger) — one source, as the config schema is;
 * its error codes are stable; @fastify/swagger-ui serves the docs page from the package (no CDN).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { LuascaleError, isLuascaleError, type ErrorCode } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { Decision } from '../controller/decision.js';
import * as S from './admin-schemas.js';

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
  /** Validates then swaps the policy; throws LuascaleError (and keeps the old one) when invalid. */
  reloadPolicy(name: string, source: string): Promise<void>;
  evalPolicy(policy: S.EvalRequestBody['policy'], input: Record<string, unknown>): Promise<Decision>;
  events(query: {
    service?: string;
    since?: number;
    afterId?: number;
    limit: number;
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
}

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
    bodyLimit: 1_048_576,
    ajv: { customOptions: { removeAdditional: false } },
  });
  const routes: Array<{ method: string; url: string; hidden: boolean }> = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (r) => {
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
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });

  const backend = options.backend;
  const failures = authFailureLimiter(options.authFailuresPerMinute ?? 10);
  const expected = options.token ? digest(options.token) : null;

  app.addHook('onRequest', async (req, reply) => {
    if (!expected || !req.url.startsWith('/v1/')) return;
    const ip = req.ip;
    const wait = failures.blockedFor(ip, Date.now());
    if (wait > 0)
      return sendError(reply, 429, 'LS_ERR_ADMIN_AUTH_RATE_LIMITED', 'too many failed attempts', {
        'retry-after': String(Math.ceil(wait / 1000)),
      });
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ')
      ? header.slice(7)
      : (req.query as Record<string, string> | undefined)?.access_token;
    // Constant-time: compare fixed-length digests, so neither content nor length leaks through timing.
    if (!token || !timingSafeEqual(digest(token), expected)) {
      failures.fail(ip, Date.now());
      return sendError(reply, 401, 'LS_ERR_ADMIN_UNAUTHORIZED', 'missing or wrong bearer token', {
        'www-authenticate': 'Bearer realm="luascale"',
      });
    }
  });

  app.setErrorHandler((err: any, _req, reply) => {
    if (isLuascaleError(err)) return sendError(reply, err.status, err.code, err.message);
    if (err.validation) return sendError(reply, 400, 'LS_ERR_ADMIN_BAD_REQUEST', err.message);
    if (err.statusCode && err.statusCode < 500)
      return sendError(reply, err.statusCode, 'LS_ERR_ADMIN_BAD_REQUEST', err.message);
    return sendError(reply, 500, 'LS_ERR_ADMIN_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, 'LS_ERR_ADMIN_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );

  const errors = { 400: S.ErrorBody, 401: S.ErrorBody, 404: S.ErrorBody, 429: S.ErrorBody };
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

  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness', security: [], response: { 200: S.Ok } } },
    async () => ({ ok: true }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: controllers and gateway started',
        security: [],
        response: { 200: S.Ok, 503: S.Ok },
      },
    },
    async (_req, reply) => (backend.ready() ? { ok: true } : reply.code(503).send({ ok: false })),
  );
  app.get(
    '/metrics',
    {
      schema: { tags: ['metrics'], summary: 'Prometheus exposition', security: [], produces: ['text/plain'] },
    },
    async (_req, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await backend.metricsText()),
  );
  app.get(
    '/v1/services',
    {
      schema: {
        tags: ['services'],
        summary: 'Every service with replicas and signals',
        response: { 200: Type.Array(Type.Ref('ServiceSummary')), ...errors },
      },
    },
    async () => backend.services(),
  );
  app.get(
    '/v1/services/:name',
    {
      schema: {
        tags: ['services'],
        summary: 'One service: instances, last decision, signals, operations',
        params: nameParam,
        response: { 200: S.ServiceDetail, ...errors },
      },
    },
    async (req) => named((req.params as { name: string }).name),
  );
  app.post(
    '/v1/services/:name/scale',
    {
      schema: {
        tags: ['services'],
        summary: 'Set a manual override, optionally with a TTL',
        params: nameParam,
        body: S.ScaleRequest,
        response: { 200: S.Ok, ...errors },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const body = req.body as S.ScaleRequestBody;
      named(name);
      backend.scale(name, body.replicas, body.ttl ? parseDuration(body.ttl) : undefined);
      return { ok: true };
    },
  );
  app.delete(
    '/v1/services/:name/scale',
    {
      schema: {
        tags: ['services'],
        summary: 'Clear the manual override',
        params: nameParam,
        response: { 200: S.Ok, ...errors },
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
          tags: ['services'],
          summary: paused ? 'Pause scaling' : 'Resume scaling',
          params: nameParam,
          response: { 200: S.Ok, ...errors },
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
        tags: ['policies'],
        summary: 'Hot-reload the Lua policy (validated first; the old one stays on error)',
        params: nameParam,
        body: S.PolicyReload,
        response: { 200: S.Ok, ...errors },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      named(name);
      await backend.reloadPolicy(name, (req.body as { source: string }).source);
      return { ok: true };
    },
  );
  app.post(
    '/v1/policies/eval',
    {
      schema: {
        tags: ['policies'],
        summary: 'Dry run: a policy and inputs in, a Decision out',
        body: S.EvalRequest,
        response: { 200: S.EvalResult, ...errors },
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
  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Recorded events, oldest first, paginated by id',
        querystring: {
          type: 'object',
          properties: {
            service: { type: 'string' },
            since: { type: 'number', description: 'Epoch ms' },
            after: {
              type: 'integer',
              description: 'Return events after this id (the previous page’s `next`)',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          additionalProperties: false,
        },
        response: { 200: S.EventPage, ...errors },
      },
    },
    async (req) => {
      const q = req.query as { service?: string; since?: number; after?: number; limit: number };
      const events = await backend.events({
        service: q.service,
        since: q.since,
        afterId: q.after,
        limit: q.limit,
      });
      return { events, next: events.length === q.limit ? events[events.length - 1]!.id : null };
    },
  );
  app.get(
    '/v1/events/stream',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-Sent Events: every new event as `data: {json}`',
        querystring: {
          type: 'object',
          properties: {
            service: { type: 'string' },
            access_token: { type: 'string', description: 'The token, for EventSource (cannot send headers)' },
          },
          additionalProperties: false,
        },
        produces: ['text/event-stream'],
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const service = (req.query as { service?: string }).service;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      const unsubscribe = backend.subscribe((e) => {
        if (!service || e.service === service)
          raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      });
      const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
      ping.unref();
      req.raw.on('close', () => {
        clearInterval(ping);
        unsubscribe();
      });
    },
  );
  app.get(
    '/v1/metrics/query',
    {
      schema: {
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
        response: { 200: S.MetricSeries, ...errors },
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
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const dashboard = loadDashboard(options.dashboardDir ?? PACKAGED_DASHBOARD_DIR);
  if (dashboard) {
    // The page holds no data (it reads /v1/* with the token), so it and its assets are public.
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      sendFile(
        reply.header('content-security-policy', DASHBOARD_CSP),
        dashboard.get('index.html')!,
        'no-cache',
      ),
    );
    app.get('/assets/:file', { schema: { hide: true } }, async (req, reply) => {
      const file = dashboard.get(`assets/${(req.params as { file: string }).file}`);
      if (!file)
        return sendError(reply, 404, 'LS_ERR_ADMIN_NOT_FOUND', `no route GET ${req.url.split('?')[0]}`);
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

function sendError(
  reply: FastifyReply,
  status: number,
  code: ErrorCode | string,
  message: string,
  headers: Record<string, string> = {},
) {
  for (const [k, v] of Object.entries(headers)) reply.header(k, v);
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Counts failed attempts per client; past the budget, each further failure doubles the wait. */
function authFailureLimiter(perMinute: number) {
  const byIp = new Map<string, { times: number[]; blockedUntil: number; strikes: number }>();
  return {
    blockedFor(ip: string, now: number): number {
      const e = byIp.get(ip);
      return e && e.blockedUntil > now ? e.blockedUntil - now : 0;
    },
    fail(ip: string, now: number): void {
      let e = byIp.get(ip);
      if (!e) byIp.set(ip, (e = { times: [], blockedUntil: 0, strikes: 0 }));
      e.times = e.times.filter((t) => now - t < 60_000);
      e.times.push(now);
      if (e.times.length > perMinute) {
        e.strikes++;
        e.blockedUntil = now + Math.min(3_600_000, 1000 * 2 ** e.strikes);
      }
      if (byIp.size > 10_000) byIp.delete(byIp.keys().next().value!);
    },
  };
}
