/**
 * "The id MUST be unique among all operations described in the API" (OpenAPI 3.1 §4.8.10.1; 2.0
 * and 3.0 alike). The import refuses what breaks the spec, so a repeated operationId is refused with
 * both operations named (file, JSON pointer, line), never renamed in silence: signals, SLOs and the
 * policy's ctx.operations are keyed by it. Derived names (no operationId) never take a declared one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ls-oas-dup-')), name);
  writeFileSync(file, text);
  return file;
}

async function refusal(file: string): Promise<string> {
  const err = await importOpenApi(file).then(
    () => assert.fail('imported a document with a repeated operationId'),
    (e: unknown) => e,
  );
  assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'), String(err));
  assert.ok(!err.message.includes('\n'), 'one line');
  return err.message;
}

test('OpenAPI 3.0: a repeated operationId is refused, naming both operations and their lines', async () => {
  const file = write(
    'api.yaml',
    `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /pets:
    get:
      operationId: listPets
      responses: { "200": { description: ok } }
  /cats:
    get:
      operationId: listPets
      responses: { "200": { description: ok } }
`,
  );
  assert.equal(
    await refusal(file),
    `${file}#/paths/~1cats/get/operationId: operationId "listPets" (line 10) is already the operationId of ` +
      '/paths/~1pets/get/operationId (line 6); an operationId must be unique in the document (OpenAPI §4.8.10.1): rename one',
  );
});

test('Swagger 2.0 (JSON): the same refusal, in place of the parser\'s "Duplicate operation id" without a place', async () => {
  const doc = {
    swagger: '2.0',
    info: { title: 't', version: '1' },
    paths: {
      '/a': { get: { operationId: 'x', responses: { 200: { description: 'ok' } } } },
      '/b': { post: { operationId: 'x', responses: { 200: { description: 'ok' } } } },
    },
  };
  const file = write('api.json', JSON.stringify(doc, null, 2));
  const msg = await refusal(file);
  assert.match(msg, /#\/paths\/~1b\/post\/operationId: operationId "x" \(line \d+\)/);
  assert.match(msg, /already the operationId of \/paths\/~1a\/get\/operationId \(line \d+\)/);
});

test('a derived name never takes a declared operationId: the derived one is suffixed', async () => {
  // GET /pets has no operationId and comes first; its derived name would be get_pets.
  const file = write(
    'api.yaml',
    `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /pets:
    get: { responses: { "200": { description: ok } } }
  /animals:
    get: { operationId: get_pets, responses: { "200": { description: ok } } }
`,
  );
  const api = await importOpenApi(file);
  const byPath = Object.fromEntries(api.operations.map((o) => [o.path, o.operationId]));
  assert.deepEqual(byPath, { '/pets': 'get_pets_2', '/animals': 'get_pets' });
});
