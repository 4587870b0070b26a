/**
 * Issue 16 item 2: a document with a `$ref` that does not resolve is refused by `luascale check`
 * and by `up` with LS_ERR_OPENAPI_INVALID naming the file and the JSON pointer where the `$ref`
 * is written; and `check` says what it imported per service (table, or JSON with --json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import { isLuascaleError } from '../../src/core/errors.js';

const GOOD = `openapi: 3.0.3
info: { title: pets, version: "1" }
paths:
  /pets:
    get:
      operationId: listPets
      x-luascale-slo: { latency_p95_ms: 50 }
      responses: { "200": { $ref: '#/components/responses/Ok' } }
    post:
      operationId: addPet
      responses: { "200": { $ref: '#/components/responses/Ok' } }
  /pets/{id}:
    get:
      parameters: [{ $ref: '#/components/parameters/Id' }]
      responses: { "200": { $ref: '#/components/responses/Ok' } }
components:
  responses:
    Ok: { description: ok }
  parameters:
    Id: { name: id, in: path, required: true, schema: { type: integer } }
`;

function project(docs: Record<string, string>, validate = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'ls-check-oas-'));
  for (const [name, text] of Object.entries(docs)) writeFileSync(join(dir, name), text);
  const services = Object.keys(docs)
    .map(
      (name, i) => `  s${i}:
    openapi: ./${name}
    validate_requests: ${validate}
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
`,
    )
    .join('');
  writeFileSync(
    join(dir, 'luascale.yaml'),
    `gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
services:
${services}`,
  );
  return dir;
}

const BROKEN: Array<[string, string, RegExp]> = [
  [
    'a response $ref',
    GOOD.replace(
      'post:\n      operationId: addPet\n      responses: { "200": { $ref: \'#/components/responses/Ok\' } }',
      'post:\n      operationId: addPet\n      responses: { "200": { $ref: \'#/components/responses/Missing\' } }',
    ),
    /api\.yaml#\/paths\/~1pets\/post\/responses\/200: \$ref "#\/components\/responses\/Missing" does not resolve/,
  ],
  [
    'a parameter $ref',
    GOOD.replace(
      "parameters: [{ $ref: '#/components/parameters/Id' }]",
      "parameters: [{ $ref: '#/components/parameters/Nope' }]",
    ),
    /api\.yaml#\/paths\/~1pets~1\{id\}\/get\/parameters\/0: \$ref "#\/components\/parameters\/Nope" does not resolve/,
  ],
];

for (const [what, doc, expected] of BROKEN) {
  test(`check and up refuse a document with ${what} that does not resolve, naming file and pointer`, async () => {
    assert.notEqual(doc, GOOD);
    const dir = project({ 'api.yaml': doc });
    try {
      const r = await runCli('check', join(dir, 'luascale.yaml'));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, expected);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      const json = await runCli('check', join(dir, 'luascale.yaml'), '--json');
      const failed = JSON.parse(json.stdout).filter((x: { ok: boolean }) => !x.ok);
      assert.equal(failed.length, 1);
      assert.match(failed[0].message, expected);

      const file = join(dir, 'luascale.yaml');
      await assert.rejects(
        startApp({ config: parseConfig(readText(file), file), file, baseDir: dir }),
        (err: unknown) => {
          assert.ok(isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'));
          assert.match(err.message, expected);
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('check says what each service imported: operations, routes, operations with SLOs, validation', async () => {
  // Other paths: two services on the same routes are refused (issue 17 item 6).
  const dir = project({ 'api.yaml': GOOD, 'other.yaml': GOOD.replaceAll('/pets', '/birds') }, true);
  try {
    const r = await runCli('check', join(dir, 'luascale.yaml'));
    assert.equal(r.code, 0, r.stderr);
    const table = r.stdout.split('\n').filter((l) => /^(service|s\d) /.test(l));
    assert.deepEqual(
      table.map((l) => l.split(/\s{2,}/)),
      [
        ['service', 'openapi', 'operations', 'routes', 'with SLO', 'validation'],
        // 3 operations, plus the default catch-all route
        ['s0', './api.yaml', '3', '4', '1', 'on'],
        ['s1', './other.yaml', '3', '4', '1', 'on'],
      ],
    );
    const json = JSON.parse((await runCli('check', join(dir, 'luascale.yaml'), '--json')).stdout);
    assert.deepEqual(
      json.filter((x: { openapi?: unknown }) => x.openapi).map((x: { openapi: unknown }) => x.openapi),
      [
        {
          service: 's0',
          file: './api.yaml',
          operations: 3,
          routes: 4,
          slo_operations: 1,
          validate_requests: true,
        },
        {
          service: 's1',
          file: './other.yaml',
          operations: 3,
          routes: 4,
          slo_operations: 1,
          validate_requests: true,
        },
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a repeated operationId: check prints the warning (file, line, both operations, the new name) and passes; up logs it once', async () => {
  const doc = GOOD.replace('operationId: addPet', 'operationId: listPets');
  const dir = project({ 'api.yaml': doc });
  const file = join(dir, 'luascale.yaml');
  try {
    const r = await runCli('check', file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const expected =
      `warning: ${join(dir, 'api.yaml')}:10: operationId "listPets" at /paths/~1pets/post/operationId is already ` +
      'the operationId of /paths/~1pets/get/operationId (line 6); imported as "listPets_2"';
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    assert.equal(warnings.length, 1, r.stderr);
    assert.ok(warnings[0]!.startsWith(expected), warnings[0]);
    // All three operations imported: 3 operations, 4 routes.
    assert.match(r.stdout, /s0\s+\.\/api\.yaml\s+3\s+4\s/);
    const json = JSON.parse((await runCli('check', file, '--json')).stdout);
    const entry = json.find((x: { openapi?: unknown }) => x.openapi);
    assert.equal(entry.ok, true);
    assert.equal(entry.warnings.length, 1);

    const logs: string[] = [];
    const app = await startApp(
      { config: parseConfig(readText(file), file), file, baseDir: dir },
      { log: (m: string) => logs.push(m) },
    );
    try {
      assert.deepEqual(
        logs.filter((l) => l.includes('operationId')),
        [warnings[0]],
      );
    } finally {
      await app.close({ graceMs: 0 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
