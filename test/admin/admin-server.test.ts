import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import {
  buildAdminServer,
  registeredRoutes,
  type AdminBackend,
  type AdminEvent,
} from '../../src/admin/admin-server.js';
import { LuascaleError } from '../../src/core/errors.js';

/** An in-memory backend: the HTTP layer is what is under test here. */
function memoryBackend() {
  const calls: string[] = [];
  const listeners = new Set<(e: AdminEvent) => void>();
  const events: AdminEvent[] = Array.from({ length: 5 }, (_, i) => ({
    id: i + 1,
    service: 'web',
    type: 'decision',
    at: i,
    data: { i },
  }));
  const svc = {
    name: 'web',
    provider: 'process',
    min: 1,
    max: 5,
    policy: 'builtin:hpa',
    paused: false,
    override: null,
    replicas: { desired: 2, ready: 2, starting: 0, draining: 0 },
    signals: {
      cpu: 10,
      memory: 5,
      rps: 3,
      inflight: 1,
      queue: 0,
      shed_rps: 0,
      error_rate: 0,
      latency: { p50: 1, p95: 2, p99: 3 },
    },
    lastReason: 'NoChange',
    alerts: [],
    slo: null,
    instances: [{ id: 'i1', url: 'http://127.0.0.1:1', state: 'ready', startedAt: 1 }],
    lastDecision: null,
    operations: {},
    policySource: null,
  };
  const backend: AdminBackend = {
    services: () => [svc],
    service: (n) => (n === 'web' ? svc : undefined),
    scale: (n, r, ttl) => void calls.push(`scale ${n} ${r} ${ttl}`),
    clearScale: (n) => void calls.push(`clear ${n}`),
    setPaused: (n, p) => void calls.push(`paused ${n} ${p}`),
    reloadPolicy: async (_n, spec) => {
      if ('source' in spec && spec.source.includes('syntax error'))
        throw new LuascaleError('LS_ERR_POLICY_SYNTAX', {
          where: `${spec.file ?? 'policy.lua'}:1`,
          reason: 'unexpected symbol',
        });
      calls.push('reload');
      return { policy: 'source' in spec ? (spec.file ?? 'web.lua') : `builtin:${spec.builtin}` };
    },
    evalPolicy: async () => ({
      service: 'eval',
      at: 0,
      current: 2,
      replicas: 3,
      reason: 'ScaleUp',
      message: 'm',
      mode: 'stable',
      inputs: {} as any,
      policy: { name: 'x', outcome: { ok: true, replicas: 3, raw: 3, logs: ['hi'], alerts: [] } },
      steps: [],
    }),
    events: (q) => {
      const hits = events.filter(
        (e) =>
          (q.afterId === undefined || e.id > q.afterId) &&
          (q.beforeId === undefined || e.id < q.beforeId) &&
          (!q.service || e.service === q.service),
      );
      return (q.order === 'desc' ? hits.reverse() : hits).slice(0, q.limit);
    },
    subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
    metricsQuery: () => ({ step: 1, points: [[1, 2]] }),
    metricsText: async () => '# HELP x y\n# TYPE x gauge\nx 1\n',
    ready: () => true,
  };
  return { backend, calls, emit: (e: AdminEvent) => listeners.forEach((l) => l(e)) };
}

const mem = memoryBackend();
const app = await buildAdminServer({
  host: '127.0.0.1',
  port: 0,
  token: 's3cret',
  backend: mem.backend,
  authFailuresPerMinute: 3,
});
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as any).port}`;
after(() => app.close());
const auth = { authorization: 'Bearer s3cret' };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await request(base + path, {
    method: method as any,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text,
  };
}

test('/openapi.json is a valid OpenAPI 3.1 document', async () => {
  const { json } = await call('GET', '/openapi.json');
  assert.equal(json.openapi, '3.1.0');
  await SwaggerParser.validate(structuredClone(json));
});

test('every registered route is documented and every documented operation is registered', async () => {
  const { json } = await call('GET', '/openapi.json');
  const documented = new Set<string>();
  for (const [path, item] of Object.entries<any>(json.paths))
    for (const m of Object.keys(item)) documented.add(`${m.toUpperCase()} ${path}`);
  const registered = new Set(
    registeredRoutes(app)
      .filter((r) => !r.hidden && !r.url.startsWith('/docs'))
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`),
  );
  assert.deepEqual([...registered].sort(), [...documented].sort());
  assert.ok(registered.has('POST /v1/services/{name}/scale'));
});

test('requests without the token get 401 with a JSON error and a stable code', async () => {
  const r = await call('GET', '/v1/services', undefined, {});
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'LS_ERR_ADMIN_UNAUTHORIZED');
  assert.match(String(r.headers['www-authenticate']), /Bearer/);
  assert.equal((await call('GET', '/healthz', undefined, {})).status, 200, 'health stays open');
});

test('a non-loopback listener without a token refuses to start and says why', async () => {
  await assert.rejects(
    buildAdminServer({ host: '0.0.0.0', port: 0, token: '', backend: mem.backend }),
    (err: any) =>
      err.code === 'LS_ERR_ADMIN_NO_TOKEN' && /not a loopback address: set admin.token/.test(err.message),
  );
  const ok = await buildAdminServer({ host: '::1', port: 0, token: '', backend: mem.backend });
  await ok.close();
});

test('request bodies are validated against the document: a bad scale body is a 400 naming the field', async () => {
  const r = await call('POST', '/v1/services/web/scale', { replicas: -1 });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'LS_ERR_ADMIN_BAD_REQUEST');
  assert.match(r.json.error.message, /replicas/);
  const ok = await call('POST', '/v1/services/web/scale', { replicas: 4, ttl: '10m' });
  assert.equal(ok.status, 200);
  assert.ok(mem.calls.includes('scale web 4 600000'));
});

test('an unknown service is a 404 with LS_ERR_ADMIN_NO_SERVICE', async () => {
  const r = await call('POST', '/v1/services/nope/pause');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'LS_ERR_ADMIN_NO_SERVICE');
});

test('a policy reload with a syntax error is a 400 and the backend keeps the old policy', async () => {
  const r = await call('PUT', '/v1/services/web/policy', { source: 'syntax error here' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'LS_ERR_POLICY_SYNTAX');
  assert.ok(!mem.calls.includes('reload'));
});

test('events paginate by id with `next`', async () => {
  const p1 = await call('GET', '/v1/events?service=web&limit=2');
  assert.deepEqual(
    p1.json.events.map((e: any) => e.id),
    [1, 2],
  );
  assert.equal(p1.json.next, 2);
  const p3 = await call('GET', `/v1/events?service=web&limit=2&after=4`);
  assert.deepEqual(
    p3.json.events.map((e: any) => e.id),
    [5],
  );
  assert.equal(p3.json.next, null);
});

test('the event stream delivers new events as Server-Sent Events', async () => {
  const res = await request(base + '/v1/events/stream?service=web', { headers: auth });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /text\/event-stream/);
  let buf = '';
  const got = new Promise<string>((resolve) => {
    res.body.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      if (buf.includes('"id":42')) resolve(buf);
      else if (buf.includes(': connected'))
        mem.emit({ id: 42, service: 'web', type: 'scale', at: 1, data: {} });
    });
  });
  const text = await got;
  assert.match(text, /event: scale\ndata: \{"id":42/);
  res.body.destroy();
});

test('the dry-run endpoint returns the decision with logs', async () => {
  const r = await call('POST', '/v1/policies/eval', { policy: { builtin: 'hpa' }, input: { cpu: 90 } });
  assert.equal(r.status, 200);
  assert.equal(r.json.replicas, 3);
  assert.deepEqual(r.json.logs, ['hi']);
  assert.equal(r.json.decision.reason, 'ScaleUp');
});

test('responses match the schemas the document declares for them', async () => {
  const { json: doc } = await call('GET', '/openapi.json');
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'openapi.json');
  const esc = (p: string) => p.replace(/~/g, '~0').replace(/\//g, '~1');
  const check = async (method: string, path: string, docPath: string, body?: unknown) => {
    const r = await call(method, path, body);
    assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.json)}`);
    const ref = `openapi.json#/paths/${esc(docPath)}/${method.toLowerCase()}/responses/200/content/application~1json/schema`;
    const validate = ajv.compile({ $ref: ref });
    assert.ok(validate(r.json), `${method} ${path}: ${JSON.stringify(validate.errors)}`);
  };
  await check('GET', '/v1/services', '/v1/services');
  await check('GET', '/v1/services/web', '/v1/services/{name}');
  await check('GET', '/v1/events?limit=2', '/v1/events');
  await check('GET', '/v1/metrics/query?service=web', '/v1/metrics/query');
  await check('POST', '/v1/policies/eval', '/v1/policies/eval', { policy: { builtin: 'hpa' }, input: {} });
  await check('GET', '/healthz', '/healthz');
  // An error body has the documented shape too.
  const e = await call('GET', '/v1/services/nope');
  const validateErr = ajv.compile({
    $ref: `openapi.json#/paths/${esc('/v1/services/{name}')}/get/responses/404/content/application~1json/schema`,
  });
  assert.ok(validateErr(e.json), JSON.stringify(validateErr.errors));
});

test('repeated failed attempts are rate limited with 429 and Retry-After', async () => {
  const bad = { authorization: 'Bearer nope', 'x-forwarded-for': '1.2.3.4' };
  const codes = [];
  for (let i = 0; i < 5; i++) codes.push((await call('GET', '/v1/services', undefined, bad)).status);
  assert.deepEqual(codes.slice(0, 3), [401, 401, 401]);
  const last = await call('GET', '/v1/services', undefined, bad);
  assert.equal(last.status, 429);
  assert.ok(Number(last.headers['retry-after']) >= 1);
  // The limiter is keyed by client; the right token from the same client is still refused while blocked.
  assert.equal(
    (await call('GET', '/v1/services', undefined, { authorization: 'Bearer s3cret' })).status,
    429,
  );
});
