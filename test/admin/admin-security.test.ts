/**
 * The admin API as an attacker sees it: every route of /openapi.json under every spelling of its
 * target without the token (issue 14 item 1), cross-site forms and DNS rebinding against the
 * tokenless loopback default (item 2), coerced bodies and absurd TTLs (items 4 and 5), and the
 * error shape of every refusal (item 13). Requests go over raw sockets: HTTP clients normalise
 * targets, and the point is to send the spellings they would not.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildAdminServer, type AdminBackend, type AdminEvent } from '../../src/admin/admin-server.js';
import { bearerToken, hostMatcher } from '../../src/admin/request-guard.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends one request exactly as written (target included) and reads the whole response. */
function raw(port: number, head: string, body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    // A target that slipped past the guard into the event stream never ends: report it, don't hang.
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve({ status: 0, headers: {}, body: 'no complete response within 5 s' });
    });
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [headText, ...rest] = text.split('\r\n\r\n');
      const lines = headText!.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    const withLength = body ? `${head}Content-Length: ${Buffer.byteLength(body)}\r\n` : head;
    socket.write(`${withLength}Connection: close\r\n\r\n${body}`);
  });
}

function recordingBackend() {
  const calls: string[] = [];
  const listeners = new Set<(e: AdminEvent) => void>();
  const events: AdminEvent[] = Array.from({ length: 8 }, (_, i) => ({
    id: i + 1,
    service: i % 2 ? 'web' : 'api',
    type: 'decision',
    at: 1000 + i,
    data: { i },
  }));
  const svc = (name: string) => ({
    name,
    provider: 'process',
    min: 1,
    max: 6,
    policy: 'builtin:hpa',
    paused: false,
    override: null,
    replicas: { desired: 2, ready: 2, starting: 0, draining: 0 },
    signals: null,
    lastReason: null,
    alerts: [],
    slo: null,
    instances: [],
    lastDecision: null,
    operations: {},
    policySource: null,
  });
  const backend: AdminBackend = {
    services: () => [svc('web'), svc('api')],
    service: (n) => (n === 'web' || n === 'api' ? svc(n) : undefined),
    scale: (n, r, ttl) => void calls.push(`scale ${n} ${r} ${ttl}`),
    clearScale: (n) => void calls.push(`clear ${n}`),
    setPaused: (n, p) => void calls.push(`paused ${n} ${p}`),
    reloadPolicy: async (n) => {
      calls.push(`reload ${n}`);
      return { policy: 'x.lua' };
    },
    evalPolicy: async () => {
      calls.push('eval');
      throw new Error('not reached in these tests');
    },
    events: (q) => {
      calls.push('events');
      const hits = events.filter(
        (e) =>
          (q.afterId === undefined || e.id > q.afterId) &&
          (q.beforeId === undefined || e.id < q.beforeId) &&
          (!q.service || e.service === q.service),
      );
      return (q.order === 'desc' ? [...hits].reverse() : hits).slice(0, q.limit);
    },
    subscribe: (l) => {
      calls.push('subscribe');
      listeners.add(l);
      return () => listeners.delete(l);
    },
    metricsQuery: () => {
      calls.push('metrics');
      return { step: 1, points: [] };
    },
    metricsText: async () => '',
    ready: () => true,
  };
  return { backend, calls, listeners, emit: (e: AdminEvent) => listeners.forEach((l) => l(e)) };
}

async function start(token: string) {
  const rec = recordingBackend();
  const app = await buildAdminServer({
    host: '127.0.0.1',
    port: 0,
    token,
    backend: rec.backend,
    authFailuresPerMinute: 1_000_000,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  after(() => app.close());
  return { app, port: (app.server.address() as AddressInfo).port, ...rec };
}

/** The spellings of one path that a router might match but a string test of the URL would not. */
function spellings(path: string, port: number): string[] {
  const rest = path.slice('/v1'.length);
  const segs = path.split('/').filter(Boolean);
  const last = segs[segs.length - 1]!;
  return [
    path,
    `http://127.0.0.1:${port}${path}`, // absolute form (RFC 9112 §3.2.2)
    `HTTP://127.0.0.1:${port}${path}`,
    `http://user@127.0.0.1:${port}${path}`,
    `/%761${rest}`,
    `/v%31${rest}`,
    `/%76%31${rest}`,
    `/%2576%2531${rest}`, // double encoding
    `/V1${rest}`,
    `//v1${rest}`,
    `/v1/${rest}`,
    `/x/../v1${rest}`,
    `/v1/../v1${rest}`,
    `/./v1${rest}`,
    `/%2e/v1${rest}`,
    `/v1./${rest.slice(1)}`,
    `${path}.`,
    `${path}/`,
    `${path}?x=1`,
    `${path}#frag`,
    `${path};x`,
    path.replace(last, last.toUpperCase()),
    path.replace(
      last,
      encodeURIComponent(last).replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
    ),
    `/v1%2F${rest.slice(1)}`,
    `\\v1${rest}`,
  ];
}

test('every /v1 route under every spelling of its target answers 401 without the token, and reaches no handler', async () => {
  const s = await start('s3cret');
  const doc = JSON.parse((await raw(s.port, `GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n`)).body);
  const routes: Array<[string, string]> = [];
  for (const [p, ops] of Object.entries(doc.paths as Record<string, object>))
    for (const m of Object.keys(ops)) routes.push([m.toUpperCase(), p.replace('{name}', 'web')]);
  assert.ok(routes.length >= 10, `the document lists the routes (${routes.length})`);
  let tried = 0;
  const leaks: string[] = [];
  for (const [method, path] of routes) {
    if (!path.startsWith('/v1/')) continue;
    const body = method === 'GET' || method === 'DELETE' ? '' : '{"replicas":1,"source":"return 1"}';
    for (const target of spellings(path, s.port)) {
      for (const auth of ['', 'Authorization: Bearer wrong\r\n', 'Authorization: Basic czNjcmV0\r\n']) {
        const head =
          `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n${auth}` +
          (body ? 'Content-Type: application/json\r\n' : '');
        const r = await raw(s.port, head, body);
        tried++;
        // Node's HTTP parser itself refuses a target that is not a valid request-target (a backslash).
        const parserRefused = target.startsWith('\\') && r.status === 400;
        if (!parserRefused && (r.status !== 401 || !r.body.includes('LS_ERR_ADMIN_UNAUTHORIZED')))
          leaks.push(`${method} ${target} ${auth.trim() || '(no auth)'} -> ${r.status}`);
      }
    }
  }
  assert.deepEqual(leaks, [], `${leaks.length} of ${tried} requests were not refused`);
  assert.deepEqual(s.calls, [], 'no handler ran');
  // The control: the right token, in any case of the scheme (RFC 9110 §11.1), gets through.
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const r = await raw(
      s.port,
      `GET /v1/services HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nAuthorization: ${scheme} s3cret\r\n`,
    );
    assert.equal(r.status, 200, scheme);
  }
  const stream = await raw(
    s.port,
    `GET /v1/services/web/policy?access_token=s3cret HTTP/1.1\r\nHost: 127.0.0.1\r\n`,
  );
  assert.equal(stream.status, 401, 'the query token is accepted only on the event stream');
});

test('public routes stay public; unknown paths need the token before they say 404', async () => {
  const s = await start('s3cret');
  for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/'])
    assert.equal(
      (await raw(s.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)).status < 400,
      true,
      `${p} is public`,
    );
  const r = await raw(s.port, `GET /v2/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
  assert.equal(r.status, 401);
});

test('cross-site forms and DNS rebinding cannot reach a tokenless loopback admin API', async () => {
  const s = await start('');
  const host = `127.0.0.1:${s.port}`;
  const post = (path: string, headers: string, body = '') =>
    raw(s.port, `POST ${path} HTTP/1.1\r\n${headers}`, body);
  // A plain HTML form: text/plain, urlencoded or multipart, no preflight.
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await post('/v1/services/web/pause', `Host: ${host}\r\nContent-Type: ${type}\r\n`, 'a=b');
    assert.equal(r.status, 415, type);
    assert.equal(JSON.parse(r.body).error.code, 'LS_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE');
  }
  // The same form with an empty body still carries the page's Origin.
  for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${s.port + 1}`]) {
    const r = await post('/v1/services/web/pause', `Host: ${host}\r\nOrigin: ${origin}\r\n`);
    assert.equal(r.status, 403, origin);
    assert.equal(JSON.parse(r.body).error.code, 'LS_ERR_ADMIN_FORBIDDEN_ORIGIN');
  }
  const fetchMeta = await post('/v1/services/web/resume', `Host: ${host}\r\nSec-Fetch-Site: cross-site\r\n`);
  assert.equal(fetchMeta.status, 403);
  // Rebinding: the attacker's name resolves to 127.0.0.1, but the browser sends that name as Host.
  for (const h of ['evil.example', `evil.example:${s.port}`, '127.0.0.1.evil.example', 'localhost.evil']) {
    const r = await raw(s.port, `GET /v1/services HTTP/1.1\r\nHost: ${h}\r\n`);
    assert.equal(r.status, 403, h);
    assert.equal(JSON.parse(r.body).error.code, 'LS_ERR_ADMIN_BAD_HOST');
  }
  const absolute = await raw(s.port, `GET http://evil.example/v1/services HTTP/1.1\r\nHost: ${host}\r\n`);
  assert.equal(absolute.status, 403, 'an absolute-form authority is checked like Host');
  assert.deepEqual(s.calls, [], 'nothing reached the backend');
  // Controls: the CLI (no Origin, JSON) and the dashboard (same origin) are served.
  assert.equal((await post('/v1/services/web/pause', `Host: ${host}\r\n`)).status, 200);
  assert.equal(
    (
      await post(
        '/v1/services/web/resume',
        `Host: localhost:${s.port}\r\nOrigin: http://localhost:${s.port}\r\n`,
      )
    ).status,
    200,
  );
  for (const h of [`LOCALHOST.:${s.port}`, `[::1]:${s.port}`, '127.0.0.1'])
    assert.equal((await raw(s.port, `GET /v1/services HTTP/1.1\r\nHost: ${h}\r\n`)).status, 200, h);
  assert.deepEqual(s.calls, ['paused web true', 'paused web false']);
});

test('the Host matcher: listener names, wildcard listeners, allowed_hosts', () => {
  const lo = hostMatcher('127.0.0.1', []);
  assert.equal(lo('127.0.0.1:9090'), true);
  assert.equal(lo('localhost'), true);
  assert.equal(lo('[::1]:9090'), true);
  assert.equal(lo('admin.example'), false);
  const named = hostMatcher('127.0.0.1', ['Admin.Example.']);
  assert.equal(named('admin.example:9090'), true);
  assert.equal(hostMatcher('10.1.2.3', [])('10.1.2.3:9090'), true);
  assert.equal(hostMatcher('10.1.2.3', [])('evil.example'), false);
  assert.equal(hostMatcher('0.0.0.0', ['*'])('anything'), true);
  assert.equal(bearerToken('bEaReR abc'), 'abc');
  assert.equal(bearerToken('Bearer abc\r'), undefined);
  assert.equal(bearerToken('Basic abc'), undefined);
});

test('bodies are not coerced: each wrong type is a 400 naming the field, and nothing is scaled', async () => {
  const s = await start('');
  const send = (method: string, path: string, body: string) =>
    raw(s.port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`, body);
  for (const v of ['null', 'false', 'true', '"1e1"', '[4]', '"0x5"', '"2"', '4.5', '-1', '{}']) {
    const r = await send('POST', '/v1/services/web/scale', `{"replicas":${v}}`);
    assert.equal(r.status, 400, v);
    const e = JSON.parse(r.body).error;
    assert.equal(e.code, 'LS_ERR_ADMIN_BAD_REQUEST');
    assert.match(e.message, /replicas/, v);
  }
  for (const v of ['5', 'null', 'true', '["return 1"]']) {
    const r = await send('PUT', '/v1/services/web/policy', `{"source":${v}}`);
    assert.equal(r.status, 400, `source ${v}`);
  }
  const ttl = await send('POST', '/v1/services/web/scale', '{"replicas":2,"ttl":600}');
  assert.equal(ttl.status, 400, 'a numeric ttl is not coerced to a string');
  assert.deepEqual(s.calls, []);
});

test('TTLs: zero and absurd ones are 400s; a good one answers when it ends, clamped and paused state', async () => {
  let now = 1_700_000_000_000;
  const rec = recordingBackend();
  const app = await buildAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: '',
    backend: rec.backend,
    now: () => now,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  after(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  const scale = (body: string) =>
    raw(
      port,
      `POST /v1/services/web/scale HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`,
      body,
    );
  for (const ttl of ['0', '0s', '0.0m', '367d', '9999999999999999999999d', '10 parsecs', '-5s']) {
    const r = await scale(`{"replicas":2,"ttl":"${ttl}"}`);
    assert.equal(r.status, 400, ttl);
    assert.match(JSON.parse(r.body).error.message, /ttl/);
  }
  assert.deepEqual(rec.calls, []);
  const ok = JSON.parse((await scale('{"replicas":50,"ttl":"10m"}')).body);
  assert.deepEqual(ok, {
    ok: true,
    requested: 50,
    replicas: 6,
    clamped: true,
    min: 1,
    max: 6,
    paused: false,
    until: now + 600_000,
  });
  now += 1;
  const forever = JSON.parse((await scale('{"replicas":3}')).body);
  assert.equal(forever.until, null);
  assert.equal(forever.clamped, false);
  assert.deepEqual(rec.calls, ['scale web 50 600000', 'scale web 3 undefined']);
});

test('every refusal has the { error: { code, message } } shape with a registry code', async () => {
  const s = await start('');
  const big = `{"source":"${'x'.repeat(1_100_000)}"}`;
  const cases: Array<[string, string, string, number, string]> = [
    ['PUT', '/v1/services/web/policy', big, 413, 'LS_ERR_ADMIN_BODY_TOO_LARGE'],
    ['POST', '/v1/services/web/scale', 'not json', 400, 'LS_ERR_ADMIN_BAD_REQUEST'],
    ['GET', '/v1/services/%zz', '', 400, 'LS_ERR_ADMIN_BAD_REQUEST'],
    ['GET', '/v1/nothing', '', 404, 'LS_ERR_ADMIN_NOT_FOUND'],
    ['GET', '/v1/services/nope', '', 404, 'LS_ERR_ADMIN_NO_SERVICE'],
    ['GET', '/v1/events?service=nope', '', 404, 'LS_ERR_ADMIN_NO_SERVICE'],
    ['GET', '/v1/events/stream?service=nope', '', 404, 'LS_ERR_ADMIN_NO_SERVICE'],
    ['GET', '/v1/events?limit=0', '', 400, 'LS_ERR_ADMIN_BAD_REQUEST'],
    ['GET', '/v1/events?order=sideways', '', 400, 'LS_ERR_ADMIN_BAD_REQUEST'],
  ];
  for (const [method, path, body, status, code] of cases) {
    const r = await raw(
      s.port,
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${body ? 'Content-Type: application/json\r\n' : ''}`,
      body,
    );
    assert.equal(r.status, status, `${method} ${path}`);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    const parsed = JSON.parse(r.body);
    assert.deepEqual(Object.keys(parsed), ['error'], `${method} ${path}`);
    assert.equal(parsed.error.code, code, `${method} ${path}`);
    assert.equal(typeof parsed.error.message, 'string');
  }
});

test('/openapi.json documents the error responses of every route', async () => {
  const s = await start('s3cret');
  const doc = JSON.parse((await raw(s.port, `GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n`)).body);
  for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    if (!p.startsWith('/v1/')) continue;
    for (const [m, op] of Object.entries(ops)) {
      const codes = Object.keys(op.responses ?? {});
      for (const c of ['401', '403', '429', '500']) assert.ok(codes.includes(c), `${m} ${p} documents ${c}`);
      if (m !== 'get' || p.includes(':name') || p.includes('{name}'))
        assert.ok(codes.includes('400') || codes.includes('404'), `${m} ${p}: ${codes}`);
    }
  }
  const scale = doc.paths['/v1/services/{name}/scale'].post.responses;
  for (const c of ['400', '404', '413', '415']) assert.ok(scale[c], `scale documents ${c}`);
  assert.ok(doc.paths['/v1/services/{name}/policy'].put.responses['422']);
});

test('events: the newest page with order=desc; the stream replays after an id, then goes live', async () => {
  const s = await start('');
  const get = async (q: string) =>
    JSON.parse((await raw(s.port, `GET /v1/events?${q} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)).body);
  assert.deepEqual(
    (await get('order=desc&limit=3')).events.map((e: AdminEvent) => e.id),
    [8, 7, 6],
  );
  assert.deepEqual(
    (await get('order=desc&limit=2&before=7')).events.map((e: AdminEvent) => e.id),
    [6, 5],
  );
  assert.deepEqual(
    (await get('service=web&after=4')).events.map((e: AdminEvent) => e.id),
    [6, 8],
  );
  // The stream: stored events after id 5 for web, then a live one, each once.
  const got: number[] = [];
  const socket = connect(s.port, '127.0.0.1');
  let buf = '';
  const saw = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (got.length >= n) resolve();
        else socket.once('data', check);
      };
      check();
    });
  socket.on('data', (c) => {
    buf += c.toString();
    for (const m of buf.matchAll(/^id: (\d+)$/gm)) if (!got.includes(Number(m[1]))) got.push(Number(m[1]));
  });
  socket.write(`GET /v1/events/stream?service=web&after=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await saw(2);
  s.emit({ id: 9, service: 'api', type: 'decision', at: 0, data: {} });
  s.emit({ id: 0, service: 'web', type: 'signals', at: 0, data: { rps: 7 } });
  s.emit({ id: 10, service: 'web', type: 'decision', at: 0, data: {} });
  await saw(3);
  assert.deepEqual(got, [6, 8, 10]);
  // A live-only event (id 0, per-tick signals) is delivered, without an `id:` line.
  assert.match(buf, /^event: signals\ndata: \{[^\n]*"rps":7/m);
  assert.doesNotMatch(buf, /^id: 0$/m);
  // Closing the server ends the stream (a connected client must not hold `up` open).
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await s.app.close();
  await ended;
  assert.equal(s.listeners.size, 0, 'the stream unsubscribed');
});
