/**
 * Documents a careless or hostile author writes: paths that are one route under two spellings,
 * server URLs whose base path comes from variables, and percent-encodings the requests will not use.
 * Each is refused in one line naming the file, JSON pointer and line, or imported in the form
 * requests are matched in (with a one-line warning, `file:line: message`, when the document breaks
 * the spec in a way the gateway can route around); never a stack trace.
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

/** The import of `text`, which must give exactly one warning, of one line. */
async function warned(text: string): Promise<{ file: string; warning: string; routes: string[] }> {
  const file = write(text);
  const api = await importOpenApi(file);
  assert.equal(api.warnings.length, 1, api.warnings.join('\n'));
  assert.ok(!api.warnings[0]!.includes('\n'), 'one line');
  return { file, warning: api.warnings[0]!, routes: api.operations.map((o) => `${o.method} ${o.path}`) };
}

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

test('/pets/{id} and /pets/{petId} with the same method: the second (unreachable) is skipped with a warning naming both', async () => {
  const { file, warning, routes } = await warned(`${HEAD}paths:
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
    warning,
    `${file}:9: GET "/pets/{petId}" at /paths/~1pets~1{petId}/get is the same route as ` +
      '/paths/~1pets~1{id}/get (line 5), which takes every request it could match: skipped (rename the path or merge the two)',
  );
  assert.deepEqual(routes, ['GET /pets/{id}']);
});

test('the same path under two spellings (%C3%A9 and é) is one route too; other methods are not a clash', async () => {
  const { warning: message, routes } = await warned(`${HEAD}paths:
  /café:
    get: { responses: ${OK} }
  /caf%c3%a9:
    get: { responses: ${OK} }
`);
  assert.match(
    message,
    /api\.yaml:7: GET "\/caf%C3%A9" at \/paths\/~1caf%c3%a9\/get is the same route as \/paths\/~1café\/get \(line 5\)/,
  );
  assert.deepEqual(routes, ['GET /caf%C3%A9']);
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

test('an upper-case method key (GET:, which imported no operation) is imported as its method, with a warning', async () => {
  const { file, warning, routes } = await warned(`${HEAD}paths:\n  /a: { GET: { responses: ${OK} } }\n`);
  assert.equal(
    warning,
    `${file}:4: method key "GET" at /paths/~1a/GET imported as GET; OpenAPI method keys are lower case ("get")`,
  );
  assert.deepEqual(routes, ['GET /a']);
  // Beside its lower-case spelling, the second is one route twice: skipped, with the same-route warning.
  const both = await importOpenApi(
    write(`${HEAD}paths:\n  /b:\n    get: { responses: ${OK} }\n    Get: { responses: ${OK} }\n`),
  );
  assert.deepEqual(
    both.operations.map((o) => `${o.method} ${o.path}`),
    ['GET /b'],
  );
  assert.equal(both.warnings.length, 2, both.warnings.join('\n'));
  assert.match(both.warnings[0]!, /:6: method key "Get" at \/paths\/~1b\/Get imported as GET/);
  assert.match(
    both.warnings[1]!,
    /:6: GET "\/b" at \/paths\/~1b\/Get is the same route as \/paths\/~1b\/get \(line 5\)/,
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
