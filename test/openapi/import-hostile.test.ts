/**
 * Documents a careless or hostile author writes: paths that are one route under two spellings,
 * server URLs whose base path comes from variables, and percent-encodings the requests will not use. Each is refused in one line naming the file, JSON
 * pointer and line, or imported in the form requests are matched in; never a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';

function write(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ls-oas-hostile-')), 'api.yaml');
  writeFileSync(file, text);
  return file;
}

const HEAD = `openapi: 3.0.3
info: { title: t, version: "1" }
`;
const OK = '{ "200": { description: ok } }';

async function refusal(text: string): Promise<{ file: string; message: string }> {
  const file = write(text);
  const err = await importOpenApi(file).then(
    () => assert.fail('imported'),
    (e: unknown) => e,
  );
  assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'), String(err));
  assert.ok(!err.message.includes('\n'), 'one line');
  return { file, message: err.message };
}

test('/pets/{id} and /pets/{petId} with the same method: refused, naming both (the second was unreachable)', async () => {
  const { file, message } = await refusal(`${HEAD}paths:
  /pets/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: ${OK}
  /pets/{petId}:
    get:
      parameters: [{ name: petId, in: path, required: true, schema: { type: string } }]
      responses: ${OK}
`);
  assert.equal(
    message,
    `${file}#/paths/~1pets~1{petId}/get: GET "/pets/{petId}" (line 9) is the same route as ` +
      '/paths/~1pets~1{id}/get (line 5), which takes every request it could match: rename the path or merge the two',
  );
});

test('the same path under two spellings (%C3%A9 and é) is one route too; other methods are not a clash', async () => {
  const { message } = await refusal(`${HEAD}paths:
  /café:
    get: { responses: ${OK} }
  /caf%c3%a9:
    get: { responses: ${OK} }
`);
  assert.match(
    message,
    /#\/paths\/~1caf%c3%a9\/get: GET "\/caf%C3%A9" \(line 7\) is the same route as \/paths\/~1café\/get \(line 5\)/,
  );
  const api = await importOpenApi(
    write(`${HEAD}paths:
  /pets/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: ${OK}
  /pets/{petId}:
    delete:
      parameters: [{ name: petId, in: path, required: true, schema: { type: string } }]
      responses: ${OK}
`),
  );
  assert.deepEqual(
    api.operations.map((o) => `${o.method} ${o.path}`),
    ['GET /pets/{id}', 'DELETE /pets/{petId}'],
  );
});

test('servers: a base path from variables is one path (no //), an undefined variable in it is refused', async () => {
  const api = await importOpenApi(
    write(`${HEAD}servers: [{ url: "https://{host}/{base}/", variables: { base: { default: /v2 } } }]
paths:
  /pets: { get: { responses: ${OK} } }
`),
  );
  // {host} has no default either, but it is not part of the path.
  assert.equal(api.basePath, '/v2');
  assert.equal(api.operations[0]!.path, '/v2/pets');
  const { file, message } = await refusal(`${HEAD}servers: [{ url: "https://api.example.com/{version}" }]
paths:
  /pets: { get: { responses: ${OK} } }
`);
  assert.equal(
    message,
    `${file}#/servers/0/url: variable {version} has no default in servers[0].variables (the base path needs one) (line 3)`,
  );
});

test('path literals are imported in the normal form requests are matched in; a malformed % is refused', async () => {
  const api = await importOpenApi(
    write(`${HEAD}paths:
  /files/a%2fb%7e: { get: { responses: ${OK} } }
  /%7Euser/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: ${OK}
`),
  );
  assert.deepEqual(
    api.operations.map((o) => o.path),
    ['/files/a%2Fb~', '/~user/{id}'],
  );
  const { file, message } = await refusal(`${HEAD}paths:
  /files/50%off: { get: { responses: ${OK} } }
`);
  assert.match(
    message,
    new RegExp(
      `^${file}#/paths/~1files~150%off: "/files/50%off" is not a path a request can name .* \\(line 4\\)$`,
    ),
  );
  const lone = await refusal(`${HEAD}paths:
  "/bad\\ud800": { get: { responses: ${OK} } }
`);
  assert.match(
    lone.message,
    /api\.yaml#\/paths\/~1bad.: is not valid Unicode \(a lone UTF-16 surrogate\) \(line 4\)$/,
  );
});

test('what `up` used to take silently (the JSON Schema check runs only in `check`) is refused, naming the place', async () => {
  for (const [doc, pointer, reason] of [
    [`servers: x\npaths:\n  /a: { get: { responses: ${OK} } }\n`, '/servers', 'must be an array'],
    [
      `servers: [{ url: 5 }]\npaths:\n  /a: { get: { responses: ${OK} } }\n`,
      '/servers/0',
      'must be an object with a string url',
    ],
    [
      `paths:\n  /a: { servers: [null], get: { responses: ${OK} } }\n`,
      '/paths/~1a/servers/0',
      'must be an object with a string url',
    ],
    // Upper-case methods were skipped: a document of `GET:`s imported no operation at all.
    [
      `paths:\n  /a: { GET: { responses: ${OK} } }\n`,
      '/paths/~1a/GET',
      'methods are written in lower case ("get", not "GET")',
    ],
    [
      `paths:\n  /a: { get: { operationId: 5, responses: ${OK} } }\n`,
      '/paths/~1a/get/operationId',
      'must be a string',
    ],
    // Routes no request could reach: requests are matched with dot segments resolved, without query.
    [`paths:\n  /a/../b: { get: { responses: ${OK} } }\n`, '/paths/~1a~1..~1b', 'has a "." or ".." segment'],
    [
      `paths:\n  /a?x=1: { get: { responses: ${OK} } }\n`,
      '/paths/~1a?x=1',
      'a path holds no query (?) or fragment (#)',
    ],
  ] as const) {
    const { file, message } = await refusal(`${HEAD}${doc}`);
    assert.ok(message.startsWith(`${file}#${pointer}: ${reason}`), message);
    assert.match(message, /\(line \d+\)$/);
  }
});
