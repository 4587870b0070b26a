/**
 * OpenAPI 3.2 (September 2025): accepted as 3.1 is, and its two new kinds of operation — `query`
 * (the HTTP QUERY method, a safe request with a body) and `additionalOperations` (other methods,
 * keyed as sent) — are routed, measured per operation and validated like the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { createSignals } from '../../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../../src/gateway/signals/event-loop-lag.js';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { serviceOptions } from '../../src/app/gateway-options.js';
import type { ServiceConfig } from '../../src/config/schema.js';
import { raw, startGateway, startUpstream } from '../gateway/helpers.js';
import { runCli } from '../helpers/run-cli.js';

const NAME = '{ type: object, required: [name], properties: { name: { type: string } } }';
const DOC = `openapi: 3.2.0
info: { title: pets, version: "1" }
paths:
  /pets:
    get:
      operationId: listPets
      responses: { "200": { description: ok } }
    query:
      operationId: searchPets
      requestBody: { required: true, content: { application/json: { schema: ${NAME} } } }
      responses: { "200": { description: ok } }
  /files/{name}:
    parameters: [{ name: name, in: path, required: true, schema: { type: string } }]
    additionalOperations:
      COPY:
        operationId: copyFile
        parameters: [{ name: destination, in: header, required: true, schema: { type: string } }]
        responses: { "201": { description: copied } }
`;

function write(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas32-'));
  writeFileSync(join(dir, 'api.yaml'), text);
  return { dir, file: join(dir, 'api.yaml') };
}

test('a 3.2 document imports its query and additionalOperations operations, with no warning', async () => {
  const { dir, file } = write(DOC);
  try {
    const api = await importOpenApi(file);
    assert.equal(api.specVersion, '3.2.0');
    assert.deepEqual(api.warnings, []);
    assert.deepEqual(
      api.operations.map((o) => `${o.method} ${o.path} ${o.operationId}`),
      ['GET /pets listPets', 'QUERY /pets searchPets', 'COPY /files/{name} copyFile'],
    );
    // 3.2 schemas are JSON Schema 2020-12, as 3.1's.
    assert.equal(api.operations[1]!.schemaDialect, '2020-12');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 3.2 document of webhooks only (no paths, as 3.1 allows) imports with no operation', async () => {
  const { dir, file } = write(`openapi: 3.2.0
info: { title: hooks, version: "1" }
webhooks:
  petAdded:
    post: { responses: { "200": { description: ok } } }
`);
  try {
    const api = await importOpenApi(file);
    assert.deepEqual([api.specVersion, api.operations.length, api.warnings], ['3.2.0', 0, []]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('3.2: a malformed additionalOperations is refused naming its pointer and line', async () => {
  const { dir, file } = write(DOC.replace('COPY:', '"CO PY":'));
  try {
    const err = await importOpenApi(file).then(
      () => assert.fail('imported'),
      (e: unknown) => e,
    );
    assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'), String(err));
    assert.equal(
      err.message,
      `${file}#/paths/~1files~1{name}/additionalOperations/CO PY: is not an HTTP method name (RFC 9110 §9.1) (line 15)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('3.2 through a gateway: a QUERY request reaches its operation, validated and counted as it', async () => {
  const { dir, file } = write(DOC);
  const up = await startUpstream((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => res.end(`reached ${req.method} ${req.url}${body ? ` ${body}` : ''}`));
  });
  const api = await importOpenApi(file);
  const svc = { routes: [], validate_requests: true, provider: { static: { targets: [] } } };
  const opts = serviceOptions(svc as unknown as ServiceConfig, api);
  const signals = createSignals(systemClock, {
    eventLoop: createEventLoopLag({ read: () => 0, close() {} }),
  });
  const { gw, port } = await startGateway({
    signals,
    services: { s: { ...opts, instances: [{ id: 'u1', url: up.url }] } },
  });
  const call = async (head: string, body = '') => {
    const r = await raw(
      port,
      `${head}\r\nHost: x\r\nConnection: close\r\n` +
        (body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '') +
        `\r\n${body}`,
    );
    return {
      status: Number(/^HTTP\/1\.1 (\d+)/.exec(r)?.[1] ?? 0),
      body: r.slice(r.indexOf('\r\n\r\n') + 4),
    };
  };
  try {
    const found = await call('QUERY /pets HTTP/1.1', '{"name":"rex"}');
    assert.deepEqual(found, { status: 200, body: 'reached QUERY /pets {"name":"rex"}' });
    // Validated against the query operation's requestBody.
    const bad = await call('QUERY /pets HTTP/1.1', '{"nam":"rex"}');
    assert.equal(bad.status, 400, bad.body);
    assert.match(bad.body, /body\.name: must have required property 'name'/);
    // additionalOperations: COPY routed, its header parameter required.
    assert.equal(
      (await call('COPY /files/a HTTP/1.1\r\nDestination: /files/b')).body,
      'reached COPY /files/a',
    );
    assert.match((await call('COPY /files/a HTTP/1.1')).body, /header\.destination/);
    assert.equal((await call('GET /pets HTTP/1.1')).body, 'reached GET /pets');
    assert.equal((await call('QUERY /pets HTTP/1.1', '{"name":"max"}')).status, 200);
    const snap = signals.snapshot('s', systemClock.now() + 1000, 10);
    const counted = Object.fromEntries(
      Object.entries(snap.operations).map(([k, v]) => [k, Math.round(v.offered_rps * 10)]),
    );
    // Each request that reached an instance, counted under its own operation (the 400s are not).
    assert.deepEqual(counted, { searchPets: 2, copyFile: 1, listPets: 1 });
  } finally {
    await gw.close({ graceMs: 100 });
    await up.close();
    signals.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('luascale check takes a 3.2 document (saying its JSON Schema is not checked) and exits 0', async () => {
  const { dir, file } = write(DOC);
  writeFileSync(
    join(dir, 'luascale.yaml'),
    `gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
services:
  s0:
    openapi: ./api.yaml
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
`,
  );
  try {
    const r = await runCli('check', join(dir, 'luascale.yaml'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^warning: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: OpenAPI 3\\.2\\.0 is not checked against a JSON Schema`,
        'm',
      ),
    );
    // 3 operations, plus the catch-all route
    assert.match(r.stdout, /s0\s+\.\/api\.yaml\s+3\s+4\s/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
