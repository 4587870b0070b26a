/**
 * Fuzz: the admin API. Every operation in its own /openapi.json gets schema-derived hostile inputs
 * (path parameters, query values of the wrong type and size, random and malformed JSON bodies);
 * no answer is a 5xx and every error is a JSON body `{ error: { code, message } }`. The bearer
 * token (a secret from the config) never appears in any response or log line. Seeds are fixed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';

const SEED = 4242;
const TOKEN = 'tok-Zq8-very-secret-9f3';
const ENV_SECRET = 'env-secret-Hx71';
let app: LuascaleApp;
let upstream: http.Server;
let dir: string;
const logs: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-fuzz-admin-'));
  upstream = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
  proc:
    routes: [{ path_prefix: "/proc" }]
    provider: { process: { command: ["${process.execPath}", "-e", "0"], env: { API_KEY: "${ENV_SECRET}" }, log_dir: "${dir}/logs" } }
    scaling: { min: 0, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
`;
  const config = parseConfig(text, join(dir, 'luascale.yaml'));
  app = await startApp(
    { config, file: join(dir, 'luascale.yaml'), baseDir: dir },
    { log: (l) => logs.push(l) },
  );
});

after(async () => {
  await app?.close({ graceMs: 200 });
  await new Promise((r) => upstream.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };
const seen: string[] = [];

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await request(`${app.adminUrl}${path}`, {
    method: method as any,
    headers: { ...auth, ...headers },
    body,
    headersTimeout: 5000,
    bodyTimeout: 2000,
  }).catch(
    (e: Error) => ({ statusCode: -1, headers: {}, body: { text: async () => String(e.message) } }) as any,
  );
  let text = '';
  if (String(res.headers['content-type'] ?? '').includes('event-stream')) {
    // The SSE stream never ends by itself: one chunk is enough.
    for await (const c of res.body) {
      text = String(c);
      break;
    }
    res.body.destroy?.();
  } else text = await res.body.text();
  seen.push(text);
  return { status: res.statusCode as number, type: String(res.headers['content-type'] ?? ''), text };
}

function assertSane(r: { status: number; type: string; text: string }, what: string): void {
  assert.ok(r.status >= 200 && r.status < 500, `${what} → ${r.status} ${r.text.slice(0, 200)}`);
  if (r.status >= 400) {
    const body = JSON.parse(r.text);
    assert.match(
      body?.error?.code ?? '',
      /^LS_ERR_/,
      `${what}: JSON error body, got ${r.text.slice(0, 200)}`,
    );
  }
}

const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '',
    '..',
    '../../etc/passwd',
    '%00',
    '%2e%2e%2f',
    'web',
    'proc',
    'nope',
    '__proto__',
    'constructor',
    'a'.repeat(300),
    '\u202e',
    '💥',
    '-1',
    '1e999',
    'NaN',
    'true',
    '{}',
    '[]',
    'null',
  ),
);
const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '',
    '{',
    '{"replicas":',
    'null',
    '[]',
    '{"replicas":-1}',
    '{"replicas":1e999}',
    '{"replicas":"3"}',
    '{"replicas":3,"ttl":"-1s"}',
    '{"replicas":3,"ttl":"99999999999d"}',
    '{"source":"while true do end"}',
    '{"source":"' + 'x'.repeat(2_000_000) + '"}',
    '{"policy":{"builtin":"nope"}}',
    '{"policy":{"source":"return 1"},"observation":{"cpu":"x"}}',
    '{"__proto__":{"polluted":1}}',
    '['.repeat(10000),
    '{"paused":"yes"}',
  ),
  fc
    .record(
      { replicas: fc.oneof(fc.integer(), fc.double(), hostileString), ttl: hostileString },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);

interface Op {
  method: string;
  path: string;
  query: string[];
}

async function operations(): Promise<Op[]> {
  const doc = JSON.parse((await call('GET', '/openapi.json')).text);
  const ops: Op[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name),
      });
    }
  }
  return ops;
}

function fill(path: string, v: string): string {
  return path.replace(/\{[^}]+\}/g, encodeURIComponent(v));
}

test(
  `fuzz admin API: every operation with hostile path, query and body (seed ${SEED}, 25 runs per operation)`,
  { timeout: 120_000 },
  async () => {
    const ops = await operations();
    assert.ok(
      ops.length >= 8,
      `the OpenAPI document lists the operations (${ops.map((o) => o.method + ' ' + o.path).join(', ')})`,
    );
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.constantFrom('web'), hostileString),
          fc.dictionary(fc.constantFrom(...op.query, 'x'), hostileString, { maxKeys: 3 }),
          hostileJson,
          fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1'),
          async (name, q, body, ctype) => {
            const qs = new URLSearchParams(q as Record<string, string>).toString();
            const path = fill(op.path, name) + (qs ? `?${qs}` : '');
            const withBody = op.method !== 'GET' && op.method !== 'DELETE';
            const r = await call(
              op.method,
              path,
              withBody ? body : undefined,
              withBody ? { 'content-type': ctype } : {},
            );
            assertSane(r, `${op.method} ${path.slice(0, 120)} body ${body.slice(0, 80)}`);
          },
        ),
        { seed: SEED, numRuns: 25 },
      );
    }
  },
);

test('admin API: no token, a wrong token and a token in the wrong place get 401 JSON (never the data)', async () => {
  for (const headers of [
    {},
    { authorization: 'Bearer nope' },
    { authorization: TOKEN },
    { authorization: `Basic ${Buffer.from('a:' + TOKEN).toString('base64')}` },
  ]) {
    const res = await request(`${app.adminUrl}/v1/services`, { headers });
    const text = await res.body.text();
    assert.ok(
      res.statusCode === 401 || res.statusCode === 429,
      `${JSON.stringify(headers)} → ${res.statusCode}`,
    );
    assert.match(JSON.parse(text).error.code, /^LS_ERR_ADMIN_(UNAUTHORIZED|AUTH_RATE_LIMITED)$/);
  }
});

test('secrets: the admin token and provider env values never appear in any admin response or log line', async () => {
  for (const p of [
    '/v1/services',
    '/v1/services/web',
    '/v1/services/proc',
    '/v1/events?limit=1000',
    '/openapi.json',
    '/metrics',
    '/v1/metrics/query?service=web&metric=rps&window=60',
  ])
    await call('GET', p);
  const all = seen.join('\n') + '\n' + logs.join('\n');
  assert.ok(seen.length > 10, 'responses were collected');
  assert.ok(!all.includes(TOKEN), 'the admin token leaked');
  assert.ok(!all.includes(ENV_SECRET), 'a provider env value leaked');
});
