/**
 * Importing the shapes real documents have, and the errors a careless or hostile one gets: each test
 * failed on the importer before its fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-imp-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
const HEAD = 'openapi: 3.0.3\ninfo: { title: t, version: "1" }\n';

async function importError(file: string): Promise<string> {
  try {
    await importOpenApi(file);
  } catch (err) {
    assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'), String(err));
    assert.doesNotMatch(err.message, /\n|\s+at\s/, 'one line, no stack');
    return err.message;
  }
  assert.fail('imported');
}

test('servers of a path item or an operation replace the document base path', async () => {
  const dir = tmp({
    'api.yaml': `${HEAD}servers: [{ url: /api }]
paths:
  /files:
    servers: [{ url: "https://upload.example.com/up/{v}", variables: { v: { default: "2.0" } } }]
    post: { operationId: upload, responses: { "200": { description: ok } } }
  /files/{id}:
    get: { operationId: other, servers: [{ url: /other }], responses: { "200": { description: ok } } }
    delete: { operationId: remove, responses: { "204": { description: ok } } }
`,
  });
  const api = await importOpenApi(join(dir, 'api.yaml'));
  assert.deepEqual(
    api.operations.map((o) => `${o.method} ${o.path}`),
    ['POST /up/2.0/files', 'GET /other/files/{id}', 'DELETE /api/files/{id}'],
  );
});

test('a $ref to a URL is refused without touching the network, naming where it is written', async () => {
  // A listening socket that fails the test if anything connects to it.
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const dir = tmp({
      'api.yaml': `${HEAD}paths:
  /a:
    get:
      responses:
        "200": { $ref: "http://127.0.0.1:${port}/common.yaml#/Ok" }
`,
    });
    const msg = await importError(join(dir, 'api.yaml'));
    assert.match(
      msg,
      /api\.yaml#\/paths\/~1a\/get\/responses\/200: \$ref "http:\/\/127\.0\.0\.1:\d+\/common\.yaml#\/Ok" is a URL/,
    );
    assert.match(msg, /\(line 7\)$/);
    assert.equal(connections, 0);
  } finally {
    server.close();
  }
});

test('a $ref to a file that does not exist names the $ref, where it is written and the line', async () => {
  const dir = tmp({
    'api.yaml': `${HEAD}paths:
  /a:
    $ref: ./paths/a.yaml
`,
    'a.yaml': '',
  });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'paths'));
  writeFileSync(
    join(dir, 'paths', 'a.yaml'),
    'get:\n  responses:\n    "200":\n      $ref: "../common/responses.yaml#/Ok"\n',
  );
  const msg = await importError(join(dir, 'api.yaml'));
  assert.match(
    msg,
    /paths\/a\.yaml#\/get\/responses\/200: \$ref "\.\.\/common\/responses\.yaml#\/Ok" names a file that cannot be read \(ENOENT\) \(line 3\)$/,
  );
});

test('errors name the line: a malformed operation, and YAML that does not parse', async () => {
  const dir = tmp({
    'shape.yaml': `${HEAD}paths:
  /a:
    get:
      parameters: { name: x }
      responses: { "200": { description: ok } }
`,
    'syntax.yaml': `${HEAD}paths:
  /a:
    get: { responses: { "200": { description: ok } }
  /b: 1
`,
  });
  assert.match(
    await importError(join(dir, 'shape.yaml')),
    /shape\.yaml#\/paths\/~1a\/get\/parameters: must be an array \(line 6\)$/,
  );
  assert.match(
    await importError(join(dir, 'syntax.yaml')),
    /syntax\.yaml#\/: not valid YAML or JSON: .+ \(line 6, column \d+\)$/,
  );
});

test('derived operation names keep letters of any script', async () => {
  const { deriveOperationId } = await import('../../src/openapi/import-openapi.js');
  assert.equal(deriveOperationId('get', '/übung/{ид}/Posts.json'), 'get_übung_ид_Posts_json');
});
