import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { compileRequestValidator, type RequestParts } from '../../src/openapi/request-validator.js';
import { createSchemaCache } from '../../src/openapi/schema-cache.js';
import { shared } from '../helpers/shared.js';

function parts(p: Partial<RequestParts>): RequestParts {
  return { pathParams: {}, query: new URLSearchParams(), headers: {}, hasBody: false, ...p };
}

test('petstore 3.0: query types are checked after coercion, and the body names the missing field', async () => {
  const api = await importOpenApi(shared('openapi', 'oai-v3.0-petstore-expanded.yaml'));
  const find = compileRequestValidator(api.operations.find((o) => o.operationId === 'findPets')!);
  assert.equal(find(parts({ query: new URLSearchParams('limit=10') })), null);
  assert.deepEqual(find(parts({ query: new URLSearchParams('limit=ten') })), {
    field: 'query.limit',
    message: 'must be integer',
  });
  const add = compileRequestValidator(api.operations.find((o) => o.operationId === 'addPet')!);
  assert.equal(add(parts({ hasBody: true, contentType: 'application/json', body: { name: 'rex' } })), null);
  const v = add(parts({ hasBody: true, contentType: 'application/json', body: { tag: 'x' } }));
  assert.equal(v?.field, 'body.name');
  assert.match(v!.message, /required property 'name'/);
  assert.deepEqual(add(parts({})), { field: 'body', message: 'is required' });
});

test('petstore 2.0: path parameters and 2.0-style parameter schemas', async () => {
  const api = await importOpenApi(shared('openapi', 'oai-v2.0-petstore.json'));
  const list = compileRequestValidator(api.operations.find((o) => o.operationId === 'listPets')!);
  assert.equal(list(parts({ query: new URLSearchParams('limit=5') })), null);
  assert.equal(list(parts({ query: new URLSearchParams('limit=abc') }))?.field, 'query.limit');
  const show = compileRequestValidator(api.operations.find((o) => o.operationId === 'showPetById')!);
  assert.equal(show(parts({ pathParams: { petId: '7' } })), null);
  assert.deepEqual(show(parts({})), { field: 'path.petId', message: 'is required' });
});

test('every operation of every shared document compiles a validator on its first request (Twilio included)', async () => {
  for (const f of [
    'oai-v2.0-petstore.json',
    'oai-v3.0-petstore-expanded.yaml',
    'oai-v3.0-uspto.json',
    'twilio-api-v2010.yaml',
  ]) {
    const api = await importOpenApi(shared('openapi', f));
    const cache = createSchemaCache();
    for (const op of api.operations) {
      const v = compileRequestValidator(op, { cache });
      const verdict = v(parts({}));
      assert.ok(verdict === null || typeof verdict.field === 'string', `${f} ${op.operationId}`);
    }
  }
});

test('validators compile lazily, per operation on first use, and share compiled schemas', async () => {
  // Twilio: 197 operations; building their validators compiles nothing.
  const twilio = await importOpenApi(shared('openapi', 'twilio-api-v2010.yaml'));
  const cache = createSchemaCache();
  const validators = new Map(
    twilio.operations.map((op) => [op.operationId, compileRequestValidator(op, { cache })]),
  );
  assert.equal(cache.compiled, 0, 'nothing compiles before a request');
  const fetch = validators.get('FetchAccount')!;
  const sid = 'AC' + '0123456789abcdef'.repeat(2);
  assert.equal(fetch(parts({ pathParams: { Sid: sid } })), null);
  const afterOne = cache.compiled;
  assert.ok(afterOne > 0 && afterOne <= 2, `one operation's schemas only, got ${afterOne}`);
  assert.equal(fetch(parts({ pathParams: { Sid: 'nope' } }))?.field, 'path.Sid');
  assert.equal(cache.compiled, afterOne, 'a second request compiles nothing more');

  // Two operations whose bodies are the same $ref compile that schema once.
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-lazy-'));
  writeFileSync(
    join(dir, 'api.yaml'),
    `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /pets:
    post:
      operationId: addPet
      requestBody: { content: { application/json: { schema: { $ref: '#/components/schemas/Pet' } } } }
      responses: { "200": { description: ok } }
  /pets/{id}:
    put:
      operationId: putPet
      requestBody: { content: { application/json: { schema: { $ref: '#/components/schemas/Pet' } } } }
      responses: { "200": { description: ok } }
components:
  schemas:
    Pet: { type: object, required: [name], properties: { name: { type: string, nullable: true } } }
`,
  );
  const api = await importOpenApi(join(dir, 'api.yaml'));
  const shared2 = createSchemaCache();
  const [add, put] = api.operations.map((op) => compileRequestValidator(op, { cache: shared2 }));
  const body = (b: unknown) => parts({ hasBody: true, contentType: 'application/json', body: b });
  assert.equal(add!(body({ name: null })), null);
  assert.equal(put!(body({}))?.field, 'body.name');
  assert.equal(shared2.compiled, 1, 'Pet compiled once for both operations');
});
