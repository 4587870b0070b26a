import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { compileRequestValidator, type RequestParts } from '../../src/openapi/request-validator.js';
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

test('every operation of every shared document compiles a validator (Twilio included)', async () => {
  for (const f of [
    'oai-v2.0-petstore.json',
    'oai-v3.0-petstore-expanded.yaml',
    'oai-v3.0-uspto.json',
    'twilio-api-v2010.yaml',
  ]) {
    const api = await importOpenApi(shared('openapi', f));
    for (const op of api.operations) assert.equal(typeof compileRequestValidator(op), 'function');
  }
});
