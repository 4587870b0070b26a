/**
 * The admin CLI against the real admin server (an in-memory backend: the CLI is what is under test):
 * events newest-first like tail, --since/--after, `events -f` without a gap and its reconnects,
 * scale messages that say what happened, policy reload's body, and exit codes for bad arguments,
 * 4xx and 5xx (issue 14, items 9, 11, 12, 14).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildAdminServer, type AdminBackend, type AdminEvent } from '../../src/admin/admin-server.js';
import { followRetry } from '../../src/cli/admin/follow-events.js';
import { runCli } from '../helpers/run-cli.js';
import { fakeServer, type FakeServer } from './fake-server.js';

const NOW = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'ls-cli-admin-'));

/** 120 events one minute apart, the newest a minute ago; `emit` appends a live one. */
function memoryBackend() {
  const calls: string[] = [];
  const listeners = new Set<(e: AdminEvent) => void>();
  const events: AdminEvent[] = Array.from({ length: 120 }, (_, i) => ({
    id: i + 1,
    service: i % 2 ? 'web' : 'api',
    type: 'scale',
    at: NOW - (120 - i) * 60_000,
    data: { direction: 'up', from: i, to: i + 1 },
  }));
  const svc = { name: 'web', min: 1, max: 6, paused: false, replicas: { desired: 2 }, alerts: [] };
  const backend: AdminBackend = {
    services: () => [svc, { ...svc, name: 'api' }],
    service: (n) => (n === 'web' ? svc : n === 'api' ? { ...svc, name: 'api' } : undefined),
    scale: (n, r, ttl) => void calls.push(`scale ${n} ${r} ${ttl}`),
    clearScale: (n) => void calls.push(`clear ${n}`),
    setPaused: (_n, p) => void (svc.paused = p),
    reloadPolicy: async (_n, spec) => {
      calls.push(`reload ${JSON.stringify(spec)}`);
      return { policy: 'source' in spec ? (spec.file ?? 'web.lua') : `builtin:${spec.builtin}` };
    },
    evalPolicy: async () => {
      throw new Error('unused');
    },
    events: (q) => {
      const hits = events.filter(
        (e) =>
          (q.afterId === undefined || e.id > q.afterId) &&
          (q.beforeId === undefined || e.id < q.beforeId) &&
          (q.since === undefined || e.at >= q.since) &&
          (!q.service || e.service === q.service),
      );
      return (q.order === 'desc' ? hits.reverse() : hits).slice(0, q.limit);
    },
    subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
    metricsQuery: () => ({ step: 1, points: [[1, 2]] }),
    metricsText: async () => '',
    ready: () => true,
  };
  const emit = (e: Omit<AdminEvent, 'id'>) => {
    const full = { ...e, id: events.length + 1 };
    events.push(full);
    for (const l of listeners) l(full);
  };
  return { backend, calls, svc, emit, listeners };
}

const mem = memoryBackend();
let admin: FastifyInstance;
let base: string;
const conn = () => ['--admin', base, '--token', 's3cret'];
const ids = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).id as number);

before(async () => {
  admin = await buildAdminServer({ host: '127.0.0.1', port: 0, token: 's3cret', backend: mem.backend });
  await admin.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(admin.server.address() as { port: number }).port}`;
});
after(async () => {
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

test('events shows the newest --limit in chronological order, like tail', async () => {
  const r = await runCli('events', '--json', ...conn());
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    ids(r.stdout),
    Array.from({ length: 50 }, (_, i) => 71 + i),
  );
  const three = await runCli('events', '--json', '--limit', '3', '--service', 'web', ...conn());
  assert.deepEqual(ids(three.stdout), [116, 118, 120]);
  const table = await runCli('events', '--limit', '2', ...conn());
  assert.match(table.stdout, /^\s+119 .*\n\s+120 /);
});

test('events --after and --since start from a point; --service nope is a 404', async () => {
  const a = await runCli('events', '--json', '--after', '100', '--limit', '5', ...conn());
  assert.deepEqual(ids(a.stdout), [101, 102, 103, 104, 105]);
  // The newest is a minute old: --since 5m30s back catches the last five.
  const s = await runCli('events', '--json', '--since', '330s', ...conn());
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(ids(s.stdout), [116, 117, 118, 119, 120]);
  const iso = await runCli('events', '--json', '--since', new Date(NOW - 150_000).toISOString(), ...conn());
  assert.deepEqual(ids(iso.stdout), [119, 120]);
  const nope = await runCli('events', '--service', 'nope', ...conn());
  assert.equal(nope.code, 1);
  assert.match(
    nope.stderr,
    /^error: GET \/v1\/events\?.*: LS_ERR_ADMIN_NO_SERVICE: no service named "nope"\n$/,
  );
});

test('bad argument values are usage errors (exit 2), in one line, and nothing is sent', async () => {
  const before = mem.calls.length;
  for (const args of [
    ['events', '--limit', '0'],
    ['events', '--limit', 'abc'],
    ['events', '--limit', '1001'],
    ['events', '--since', 'yesterday'],
    ['events', '--after', '-1'],
    ['scale', 'web', '0x2'],
    ['scale', 'web', ' 2'],
    ['scale', 'web', '1e1'],
    ['scale', 'web', '2', '--ttl', '10 parsecs'],
    ['scale', 'web', '2', '--ttl', '-5s'],
    ['scale', 'web', '2', '--ttl', '0'],
    ['scale', 'web', '2', '--ttl', '0s'],
    ['scale', 'web', '2', '--ttl', '999999999999d'],
    ['history', 'export', '--service', 'web', '--window', 'forever'],
  ]) {
    const r = await runCli(...args, ...conn());
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: [^\n]+\n$/, args.join(' '));
    assert.doesNotMatch(r.stderr, /\bat .*\(.*:\d+:\d+\)/, 'no stack trace');
  }
  const url = await runCli('status', '--admin', 'http://[::1');
  assert.equal(url.code, 2, url.stderr);
  assert.match(url.stderr, /--admin: not a URL/);
  assert.equal((await runCli('status', '--admin', 'ftp://127.0.0.1:1')).code, 2);
  assert.equal(mem.calls.length, before);
});

test('scale says where the count was clamped, for how long, and that a paused service waits for resume', async () => {
  const r = await runCli('scale', 'web', '50', '--ttl', '10m', ...conn());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web: fixed at 6 (asked 50, clamped to max 6) for 10m\n');
  assert.equal(mem.calls.at(-1), `scale web 50 600000`);
  const low = await runCli('scale', 'web', '0', ...conn());
  assert.match(low.stdout, /^web: fixed at 1 \(asked 0, clamped to min 1\) until cleared/);
  assert.equal((await runCli('pause', 'web', ...conn())).code, 0);
  const paused = await runCli('scale', 'web', '3', ...conn());
  assert.match(paused.stdout, /^web: fixed at 3 until cleared .*paused.*`luascale resume web`/);
  const json = await runCli('scale', 'web', '3', '--json', ...conn());
  assert.equal(JSON.parse(json.stdout).paused, true);
  assert.equal((await runCli('resume', 'web', ...conn())).code, 0);
});

test('policy reload sends the file name as given, or builtin:NAME with --params', async () => {
  const file = join(dir, 'mine.lua');
  writeFileSync(file, 'function decide(ctx) return 2 end\n');
  const r = await runCli('policy', 'reload', 'web', file, ...conn());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `web: now running ${file}\n`);
  assert.deepEqual(JSON.parse(mem.calls.at(-1)!.slice('reload '.length)), {
    source: 'function decide(ctx) return 2 end\n',
    file,
  });
  const b = await runCli('policy', 'reload', 'web', 'builtin:hpa', '--params', '{"target":60}', ...conn());
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, 'web: now running builtin:hpa\n');
  assert.deepEqual(JSON.parse(mem.calls.at(-1)!.slice('reload '.length)), {
    builtin: 'hpa',
    params: { target: 60 },
  });
});

test('events -f starts with the newest, follows from the last id printed, and exits 3 when the API goes away', async () => {
  const saved = { ...followRetry };
  Object.assign(followRetry, { attempts: 3, firstDelayMs: 1, maxDelayMs: 4 });
  // A separate admin server, so closing it leaves the others' alone.
  const own = memoryBackend();
  const app = await buildAdminServer({ host: '127.0.0.1', port: 0, token: '', backend: own.backend });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  // An event recorded after the listing was read and before the stream opens must still be printed, once.
  const listing = own.backend.events;
  own.backend.events = (q) => {
    const page = listing(q);
    if (q.order === 'desc') own.emit({ service: 'web', type: 'scale', at: NOW, data: {} });
    return page;
  };
  const run = runCli('events', '-f', '--json', '--limit', '2', '--admin', url);
  // Wait until the stream is subscribed, then record a live event and shut the server down.
  while (own.listeners.size === 0) await new Promise((r) => setImmediate(r));
  own.emit({ service: 'web', type: 'scale', at: NOW, data: {} });
  await new Promise((r) => setImmediate(r));
  await app.close();
  const r = await run;
  Object.assign(followRetry, saved);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /^error: cannot reach the admin API at .*event stream lost; 3 reconnect attempts failed/,
  );
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
  assert.deepEqual(ids(r.stdout), [119, 120, 121, 122]);
});

let fake: FakeServer;
before(async () => {
  fake = await fakeServer();
});
after(() => fake.close());

test('an API 5xx exits 70, a 4xx exits 1, with the API code in one line', async () => {
  fake.respond(500, { error: { code: 'LS_ERR_ADMIN_INTERNAL', message: 'internal error' } });
  const r = await runCli('status', '--admin', fake.url);
  assert.equal(r.code, 70);
  assert.equal(r.stderr, 'error: GET /v1/services: LS_ERR_ADMIN_INTERNAL: internal error\n');
  fake.respond(404, { error: { code: 'LS_ERR_ADMIN_NO_SERVICE', message: 'no service named "x"' } });
  assert.equal((await runCli('pause', 'x', '--admin', fake.url)).code, 1);
});

test('a server that is not the luascale admin API is named as such, not "undefined: undefined"', async () => {
  for (const [status, body, type] of [
    [404, 'Cannot GET /v1/services', 'text/html'],
    [404, { error: { code: 'LS_ERR_GATEWAY_NO_ROUTE', message: 'no route matches GET /v1/services' } }],
    [401, { message: 'nope' }],
    [200, '<html>hello</html>', 'text/html'],
    [200, { hello: 'world' }],
  ] as const) {
    fake.respond(status, body, type);
    const r = await runCli('status', '--admin', fake.url);
    assert.equal(r.code, 3, `${status} ${JSON.stringify(body)}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: ${fake.url} does not look like a luascale admin API \\(HTTP ${status} for GET /v1/services`,
      ),
    );
    assert.doesNotMatch(r.stderr, /undefined|TypeError/);
    assert.equal(r.stderr.split('\n').length, 2);
  }
});

test('a token with a trailing CR/LF is trimmed; one with a control character inside is malformed (2)', async () => {
  fake.respond(200, []);
  const r = await runCli('status', '--admin', fake.url, '--token', 't0ken\r\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fake.requests.at(-1)!.headers.authorization, 'Bearer t0ken');
  const bad = await runCli('status', '--admin', fake.url, '--token', 't0\nken');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --token: malformed token: character 3 is U\+000A/);
  assert.doesNotMatch(bad.stderr, /cannot reach/);
});
