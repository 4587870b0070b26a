/**
 * Issue 16 item 12: what `up` does with a document is only what it needs (no JSON Schema validation
 * of the whole document, which `luascale check` still does), once per process per file, and the
 * structure the import relies on is still refused when malformed, naming the pointer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-oas-cost-'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a:
    get:
      operationId: getA
      responses: { "200": { description: ok } }
`;

test('a document is imported once per process: the second import of an unchanged file is the same result', async () => {
  const file = write('once.yaml', DOC);
  const first = await importOpenApi(file);
  assert.equal(await importOpenApi(file), first);
  // A changed file is read again.
  writeFileSync(file, DOC.replace('getA', 'getAgain') + '\n');
  const changed = await importOpenApi(file);
  assert.notEqual(changed, first);
  assert.equal(changed.operations[0]!.operationId, 'getAgain');
});

test('a failed import is not kept: the fixed file imports', async () => {
  const file = write('later.yaml', DOC.replace('description: ok', "$ref: '#/nope'"));
  await assert.rejects(importOpenApi(file), (err) => isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'));
  writeFileSync(file, DOC);
  assert.equal((await importOpenApi(file)).operations.length, 1);
});

test('up imports a document the OpenAPI JSON Schema refuses but luascale can use; check (schema: true) refuses it', async () => {
  // An operation without `responses` breaks the 3.0 schema; nothing luascale builds needs it.
  const file = write('lax.yaml', DOC.replace('      responses: { "200": { description: ok } }\n', ''));
  const api = await importOpenApi(file);
  assert.deepEqual(
    api.operations.map((o) => `${o.method} ${o.path}`),
    ['GET /a'],
  );
  await assert.rejects(importOpenApi(file, { schema: true }), (err: unknown) => {
    assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'));
    assert.match(err.message, /lax\.yaml#/);
    return true;
  });
});

const MALFORMED: Array<[string, string, RegExp]> = [
  ['no info', DOC.replace('info: { title: t, version: "1" }\n', ''), /#\/info: must be an object/],
  ['a title that is not a string', DOC.replace('title: t', 'title: [t]'), /#\/info\/title: must be a string/],
  ['paths that are a list', DOC.replace(/paths:[\s\S]*/, 'paths: [1]\n'), /#\/paths: must be an object/],
  [
    'a path item that is a string',
    DOC.replace(/ {2}\/a:[\s\S]*/, '  /a: x\n'),
    /#\/paths\/~1a: must be an object/,
  ],
  ['a path without its slash', DOC.replace('  /a:', '  a:'), /#\/paths\/a: must begin with a slash/],
  [
    'an operation that is a number',
    DOC.replace(/ {4}get:[\s\S]*/, '    get: 5\n'),
    /#\/paths\/~1a\/get: must be an object/,
  ],
  [
    'parameters that are not a list',
    DOC.replace('operationId: getA', 'operationId: getA\n      parameters: 5'),
    /#\/paths\/~1a\/get\/parameters: must be an array/,
  ],
];

for (const [what, text, expected] of MALFORMED) {
  test(`a document with ${what} is refused naming the pointer`, async () => {
    const file = write(`bad-${what.replace(/\W+/g, '-')}.yaml`, text);
    await assert.rejects(importOpenApi(file), (err: unknown) => {
      assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'), String(err));
      assert.match(err.message, expected);
      return true;
    });
  });
}

test('extensions under paths are not paths', async () => {
  const file = write('ext.yaml', DOC + '  x-note: { get: { operationId: notAnOperation } }\n');
  assert.deepEqual(
    (await importOpenApi(file)).operations.map((o) => o.operationId),
    ['getA'],
  );
});
