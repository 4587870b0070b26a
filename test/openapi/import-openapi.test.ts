import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi, deriveOperationId } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { shared } from '../helpers/shared.js';

// Operation counts from ../shared/openapi/README.md (counted there with Python, independently).
const SHARED_DOCS: Array<[string, number, string]> = [
  ['oai-v2.0-petstore.json', 3, '/v1'],
  ['oai-v3.0-petstore-expanded.yaml', 4, '/v2'],
  ['oai-v3.0-uspto.json', 3, '/ds-api'],
  ['oai-v3.1-webhook-example.yaml', 0, ''],
  ['twilio-api-v2010.yaml', 197, ''],
];

for (const [file, ops, base] of SHARED_DOCS) {
  test(`imports the shared document ${file}: ${ops} operations under "${base || '/'}"`, async () => {
    const api = await importOpenApi(shared('openapi', file));
    assert.equal(api.operations.length, ops);
    assert.equal(api.basePath, base);
    for (const op of api.operations) {
      assert.ok(op.path.startsWith(base + '/'), op.path);
      assert.match(op.operationId, /\S/);
    }
    assert.equal(new Set(api.operations.map((o) => o.operationId)).size, ops, 'names are unique');
  });
}

test('Swagger 2.0 petstore routes carry basePath, templates and methods', async () => {
  const api = await importOpenApi(shared('openapi', 'oai-v2.0-petstore.json'));
  const routes = api.operations.map((o) => `${o.method} ${o.path} ${o.operationId}`).sort();
  assert.deepEqual(routes, [
    'GET /v1/pets listPets',
    'GET /v1/pets/{petId} showPetById',
    'POST /v1/pets createPets',
  ]);
});

test('twilio paths ending in .json keep their templates', async () => {
  const api = await importOpenApi(shared('openapi', 'twilio-api-v2010.yaml'));
  assert.ok(
    api.operations.some(
      (o) => o.path === '/2010-04-01/Accounts/{AccountSid}/Calls.json' && o.method === 'POST',
    ),
  );
});

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('x-luascale extensions: operation beats path beats document, field by field', async () => {
  const dir = tmp({
    'api.yaml': `openapi: 3.1.0
info: { title: t, version: "1" }
x-luascale-slo: { latency_p95_ms: 300, error_rate: 0.01 }
x-luascale-timeout: 10s
paths:
  /users/{id}:
    x-luascale-slo: { latency_p95_ms: 200 }
    get:
      operationId: getUser
      x-luascale-slo: { latency_p99_ms: 400 }
      x-luascale-rate-limit: { rps: 50, burst: 100, key: ip }
      responses: { "200": { description: ok } }
    delete:
      x-luascale-timeout: 2s
      responses: { "204": { description: gone } }
`,
  });
  const api = await importOpenApi(join(dir, 'api.yaml'));
  const get = api.operations.find((o) => o.operationId === 'getUser')!;
  assert.deepEqual(get.slo, { latency_p95_ms: 200, error_rate: 0.01, latency_p99_ms: 400 });
  assert.deepEqual(get.rateLimit, { rps: 50, burst: 100, key: 'ip' });
  assert.equal(get.timeoutMs, 10_000);
  const del = api.operations.find((o) => o.method === 'DELETE')!;
  assert.equal(del.operationId, 'delete_users_id', 'derived when operationId is missing');
  assert.equal(del.derivedId, true);
  assert.equal(del.timeoutMs, 2000);
  assert.deepEqual(api.slo, { latency_p95_ms: 300, error_rate: 0.01 });
});

test('$ref across several files is resolved', async () => {
  const dir = tmp({
    'main.yaml': `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /orders:
    $ref: './paths/orders.yaml'
`,
    'schemas.yaml': `Order:\n  type: object\n  required: [id]\n  properties: { id: { type: string } }\n`,
  });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'paths'));
  writeFileSync(
    join(dir, 'paths', 'orders.yaml'),
    `post:
  operationId: createOrder
  x-luascale-slo: { latency_p95_ms: 150 }
  requestBody:
    content:
      application/json:
        schema: { $ref: '../schemas.yaml#/Order' }
  responses: { "201": { description: created } }
`,
  );
  const api = await importOpenApi(join(dir, 'main.yaml'));
  assert.equal(api.operations.length, 1);
  const op = api.operations[0]!;
  assert.equal(op.operationId, 'createOrder');
  assert.deepEqual(op.slo, { latency_p95_ms: 150 });
  assert.deepEqual(op.operation.requestBody.content['application/json'].schema.required, ['id']);
});

test('a document of several MB imports', async () => {
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < 4000; i++) {
    paths[`/r${i}/{id}`] = {
      get: {
        operationId: `op${i}`,
        description: 'x'.repeat(800),
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'ok' } },
      },
    };
  }
  const text = JSON.stringify({ openapi: '3.0.3', info: { title: 'big', version: '1' }, paths });
  assert.ok(text.length > 3_000_000);
  const dir = tmp({ 'big.json': text });
  const api = await importOpenApi(join(dir, 'big.json'));
  assert.equal(api.operations.length, 4000);
});

test('a broken document is one clear error with file, JSON pointer and reason, and nothing is imported', async () => {
  const dir = tmp({
    'bad.yaml': `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a:
    get:
      responses: { "200": { $ref: '#/components/responses/Missing' } }
`,
  });
  await assert.rejects(importOpenApi(join(dir, 'bad.yaml')), (err: unknown) => {
    assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'));
    assert.match(err.message, /bad\.yaml#\/\S*: /);
    assert.match(err.message, /Missing|resolve|not found/i);
    return true;
  });
});

test('a bad x-luascale-slo names its JSON pointer', async () => {
  const dir = tmp({
    'slo.yaml': `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a:
    get:
      x-luascale-slo: { latency_p95_ms: -5 }
      responses: { "200": { description: ok } }
`,
  });
  await assert.rejects(
    importOpenApi(join(dir, 'slo.yaml')),
    /slo\.yaml#\/paths\/~1a\/get\/x-luascale-slo\/latency_p95_ms: must be a number/,
  );
});

test('deriveOperationId is stable and readable', () => {
  assert.equal(deriveOperationId('GET', '/users/{id}/posts'), 'get_users_id_posts');
  assert.equal(deriveOperationId('post', '/'), 'post');
  assert.equal(deriveOperationId('get', '/a.json'), 'get_a_json');
});
