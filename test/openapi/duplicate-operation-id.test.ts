/**
 * "The id MUST be unique among all operations described in the API" (OpenAPI 3.1 §4.8.10.1; 2.0
 * and 3.0 alike). Real documents break this; refusing them would make luascale unusable on them, so
 * both operations are imported, the second under a derived name (`name_2`), and a warning names both
 * operations (file, JSON pointer, line) and the new name, never a rename in silence: signals, SLOs
 * and the policy's ctx.operations are keyed by it. Derived names never take a declared one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi } from '../../src/openapi/import-openapi.js';

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ls-oas-dup-')), name);
  writeFileSync(file, text);
  return file;
}

/** The import's one warning, checked to be one line. */
async function warningOf(file: string): Promise<{ warning: string; ids: string[] }> {
  const api = await importOpenApi(file);
  assert.equal(api.warnings.length, 1, api.warnings.join('\n'));
  const warning = api.warnings[0]!;
  assert.ok(!warning.includes('\n'), 'one line');
  return { warning, ids: api.operations.map((o) => `${o.method} ${o.path} ${o.operationId}`) };
}

test('OpenAPI 3.0: a repeated operationId imports both, the second renamed, with a warning naming both and their lines', async () => {
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
  const { warning, ids } = await warningOf(file);
  assert.equal(
    warning,
    `${file}:10: operationId "listPets" at /paths/~1cats/get/operationId is already the operationId of ` +
      '/paths/~1pets/get/operationId (line 6); imported as "listPets_2" (an operationId must be unique in the document, OpenAPI §4.8.10.1)',
  );
  assert.deepEqual(ids, ['GET /pets listPets', 'GET /cats listPets_2']);
});

test('Swagger 2.0 (JSON): the same warning, in place of the parser\'s "Duplicate operation id" refusal without a place', async () => {
  const doc = {
    swagger: '2.0',
    info: { title: 't', version: '1' },
    paths: {
      '/a': { get: { operationId: 'x', responses: { 200: { description: 'ok' } } } },
      '/b': { post: { operationId: 'x', responses: { 200: { description: 'ok' } } } },
    },
  };
  const file = write('api.json', JSON.stringify(doc, null, 2));
  const { warning: msg, ids } = await warningOf(file);
  assert.match(msg, /api\.json:\d+: operationId "x" at \/paths\/~1b\/post\/operationId/);
  assert.match(
    msg,
    /already the operationId of \/paths\/~1a\/get\/operationId \(line \d+\); imported as "x_2"/,
  );
  assert.deepEqual(ids, ['GET /a x', 'POST /b x_2']);
});

test('the renamed second never takes a declared name: x_2 declared elsewhere makes it x_3', async () => {
  const file = write(
    'api.yaml',
    `openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /a:
    get: { operationId: x, responses: { "200": { description: ok } } }
  /b:
    get: { operationId: x, responses: { "200": { description: ok } } }
  /c:
    get: { operationId: x_2, responses: { "200": { description: ok } } }
`,
  );
  const { warning, ids } = await warningOf(file);
  assert.match(warning, /:7: .* imported as "x_3"/);
  assert.deepEqual(ids, ['GET /a x', 'GET /b x_3', 'GET /c x_2']);
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
