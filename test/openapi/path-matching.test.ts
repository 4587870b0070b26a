/**
 * How request paths meet the document's path templates: spellings RFC 3986 calls equivalent match
 * the same operation (and count as one in the signals), a path parameter holding `%2F` is one
 * segment, and odd spellings a careless or hostile client sends are answered, never crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { createSignals } from '../../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../../src/gateway/signals/event-loop-lag.js';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { serviceOptions } from '../../src/app/gateway-options.js';
import type { ServiceConfig } from '../../src/config/schema.js';
import { raw, startGateway, startUpstream } from '../gateway/helpers.js';
import { shared } from '../helpers/shared.js';

interface Answer {
  status: number;
  body: string;
  /** The request line's target as the instance received it, when the request reached it. */
  reached?: string;
}

/** A gateway for the document `doc` (validating or not) in front of an instance echoing its target. */
async function withGateway(
  doc: string,
  validate: boolean,
  run: (
    call: (method: string, target: string) => Promise<Answer>,
    ops: () => Record<string, number>,
  ) => Promise<void>,
): Promise<void> {
  const up = await startUpstream((req, res) => {
    req.resume();
    req.on('end', () => res.end(`reached ${req.method} ${req.url}`));
  });
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-paths-'));
  // A document's text, or the path of a document (the shared ones).
  if (!isAbsolute(doc)) writeFileSync(join(dir, 'api.yaml'), doc);
  const api = await importOpenApi(isAbsolute(doc) ? doc : join(dir, 'api.yaml'));
  const svc = {
    routes: [{ path_prefix: '/' }],
    validate_requests: validate,
    provider: { static: { targets: [] } },
  };
  const opts = serviceOptions(svc as unknown as ServiceConfig, api);
  const signals = createSignals(systemClock, {
    eventLoop: createEventLoopLag({ read: () => 0, close() {} }),
  });
  const { gw, port } = await startGateway({
    signals,
    services: { s: { ...opts, instances: [{ id: 'u1', url: up.url }] } },
  });
  try {
    await run(
      async (method, target) => {
        const r = await raw(port, `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(r)?.[1] ?? 0);
        const body = r.slice(r.indexOf('\r\n\r\n') + 4);
        const reached = /^reached (.*)$/.exec(body)?.[1];
        return { status, body, ...(reached !== undefined ? { reached } : {}) };
      },
      () => {
        const snap = signals.snapshot('s', systemClock.now() + 1000, 10);
        return Object.fromEntries(
          Object.entries(snap.operations).map(([k, v]) => [k, Math.round(v.offered_rps * 10)]),
        );
      },
    );
  } finally {
    await gw.close({ graceMs: 100 });
    await up.close();
    signals.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /files/a%2Fb:
    get: { operationId: slashFile, responses: { "200": { description: ok } } }
  /~user/{id}:
    get:
      operationId: tildeUser
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { "200": { description: ok } }
  /café/{id}:
    get:
      operationId: cafe
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { "200": { description: ok } }
  /blobs/{name}:
    get:
      operationId: blob
      parameters: [{ name: name, in: path, required: true, schema: { type: string, pattern: "^[a-z]+/[a-z]+$" } }]
      responses: { "200": { description: ok } }
  /admin:
    get: { operationId: admin, responses: { "200": { description: ok } } }
`;

for (const validate of [false, true]) {
  test(`validate_requests ${validate}: %2f and %2F, %c3%a9 and %C3%A9, %7E and ~ name one operation (RFC 3986 §6.2.2)`, async () => {
    await withGateway(DOC, validate, async (call, ops) => {
      for (const t of [
        '/files/a%2Fb',
        '/files/a%2fb',
        '/~user/7',
        '/%7euser/7',
        '/%7Euser/7',
        '/caf%C3%A9/1',
        '/caf%c3%a9/1',
      ]) {
        const a = await call('GET', t);
        assert.equal(a.status, 200, `${t}: ${a.body}`);
        // Matched in the normal form, forwarded as the client wrote it (the spellings are equivalent).
        assert.equal(a.reached, `GET ${t}`);
      }
      // Each spelling counted under its operation (before: the lower-case ones fell to the
      // catch-all route, or were refused 404 when validating).
      const o = ops();
      assert.equal(o.slashFile, 2);
      assert.equal(o.tildeUser, 3);
      assert.equal(o.cafe, 2);
    });
  });
}

test('a path parameter holding %2F is one segment, validated decoded (OpenAPI 3 path parameters)', async () => {
  await withGateway(DOC, true, async (call, ops) => {
    for (const t of ['/blobs/a%2Fb', '/blobs/a%2fb']) {
      const a = await call('GET', t);
      assert.equal(a.status, 200, `${t}: ${a.body}`);
      assert.equal(a.reached, `GET ${t}`); // never forwarded with the slash decoded
    }
    // The schema sees `a/b`: without the encoded slash the value breaks its pattern.
    const plain = await call('GET', '/blobs/ab');
    assert.equal(plain.status, 400);
    assert.match(plain.body, /path\.name: must match pattern/);
    // A real slash is a separator: no operation has two segments there.
    assert.equal((await call('GET', '/blobs/a/b')).status, 404);
    assert.equal(ops().blob, 2);
  });
});

test('dot segments are removed before matching, and the instance is sent the path that was matched', async () => {
  await withGateway(DOC, false, async (call, ops) => {
    for (const t of [
      '/blobs/../admin',
      '/blobs/%2e%2E/admin',
      '/../admin',
      '/./admin',
      '/x/y/../../admin?q=1',
    ]) {
      const a = await call('GET', t);
      assert.equal(a.status, 200, `${t}: ${a.body}`);
      assert.equal(a.reached, t.endsWith('?q=1') ? 'GET /admin?q=1' : 'GET /admin', t);
    }
    assert.equal(ops().admin, 5);
    assert.equal(ops().blob, undefined); // before: 2 of them were counted as blob `..`, and sent on as such
  });
});

test('malformed targets are refused 400 with a reason, before any route: bad %, %00, a fragment', async () => {
  await withGateway(DOC, true, async (call) => {
    for (const [t, reason] of [
      ['/blobs/a%zzb', /malformed percent-encoding/],
      ['/blobs/a%', /malformed percent-encoding/],
      ['/blobs/a%00b', /NUL \(%00\)/],
      ['/admin#x', /fragment/],
      ['/admin?q=1#x', /fragment/],
    ] as const) {
      const a = await call('GET', t);
      assert.equal(a.status, 400, t);
      assert.match(a.body, /LS_ERR_GATEWAY_BAD_REQUEST/);
      assert.match(a.body, reason);
      assert.equal(a.reached, undefined);
    }
  });
});

const SERVERS_DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
servers: [{ url: "https://{region}.example.com/{base}/v1/", variables: { region: { default: eu }, base: { default: api } } }]
paths:
  /a/{id}.json:
    get:
      operationId: aJson
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { "200": { description: ok } }
  /b/{name}:
    get:
      operationId: getB
      parameters: [{ name: name, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
`;

test('servers base path with variables, {id}.json templates, HEAD for GET, other methods 404 (validating)', async () => {
  await withGateway(SERVERS_DOC, true, async (call, ops) => {
    const expect = async (method: string, t: string, status: number) => {
      const a = await call(method, t);
      assert.equal(a.status, status, `${method} ${t}: ${a.body}`);
    };
    await expect('GET', '/api/v1/a/7.json', 200);
    await expect('GET', '/api/v1/a/x.json', 400); // path.id: must be integer
    await expect('GET', '/api/v1/a/7', 404);
    await expect('GET', '/a/7.json', 404); // outside the base path
    await expect('GET', '/API/v1/a/7.json', 404); // paths are case-sensitive (RFC 3986 §6.2.2.1)
    await expect('HEAD', '/api/v1/b/x', 200); // RFC 9110 §9.3.2
    await expect('PUT', '/api/v1/b/x', 404);
    await expect('GET', '/api/v1/b/x/', 404); // a trailing slash is another resource
    await expect('GET', '/api/v1//b/x', 404); // so is an empty segment
    await expect('get', '/api/v1/b/x', 400); // methods are case-sensitive (RFC 9110 §9.1): unknown
    assert.deepEqual(ops(), { aJson: 1, getB: 1 }); // requests refused 400 are not forwarded
  });
});

for (const file of [
  'oai-v2.0-petstore.json',
  'oai-v3.0-petstore-expanded.yaml',
  'oai-v3.0-uspto.json',
  'twilio-api-v2010.yaml',
]) {
  test(`${file}: a request for each operation reaches that operation, whatever the case of its encodings`, async () => {
    const doc = shared('openapi', file);
    const api = await importOpenApi(doc);
    await withGateway(doc, false, async (call, ops) => {
      const want: Record<string, number> = {};
      for (const op of api.operations) {
        // A value in each {name}, once as written and once with a lower-case encoding in it.
        for (const value of ['v1', 'a%2fb']) {
          const a = await call(op.method, op.path.replace(/\{[^/{}]+\}/g, value));
          assert.equal(a.status, 200, `${op.operationId}: ${a.body}`);
          want[op.operationId] = (want[op.operationId] ?? 0) + 1;
          if (!op.path.includes('{')) break;
        }
      }
      assert.deepEqual(ops(), want);
    });
  });
}
