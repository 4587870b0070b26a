/**
 * Fuzz: trace CSVs (src/simulator/trace.ts) and OpenAPI documents (src/openapi/import-openapi.ts).
 * Random and mutated inputs either parse into a consistent value or throw one LuascaleError that
 * names the file; nothing else escapes and nothing hangs. Seeds are fixed and in the test names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseTrace } from '../../src/simulator/trace.js';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import { isLuascaleError } from '../../src/core/errors.js';

const SEED = 9090;
const dir = mkdtempSync(join(tmpdir(), 'ls-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const cell = fc.oneof(
  fc.integer({ min: -5, max: 100 }).map(String),
  fc.double().map(String),
  fc.constantFrom(
    '',
    ' ',
    'NaN',
    'Infinity',
    '-0',
    '1e400',
    '0x10',
    '1_000',
    '"5"',
    '\t7',
    '١٢',
    '1,5',
    '\r',
    '3\r',
  ),
  fc.string({ maxLength: 6 }),
);
const row = fc.oneof(
  fc.tuple(cell, cell).map(([a, b]) => `${a},${b}`),
  cell,
  fc.tuple(cell, cell, cell).map((x) => x.join(',')),
);
const traceText = fc
  .tuple(
    fc.constantFrom('t,rps', 'T, RPS', '\ufefft,rps', 'rps,t', '', 't;rps'),
    fc.array(row, { maxLength: 20 }),
    fc.constantFrom('\n', '\r\n'),
  )
  .map(([h, rows, nl]) => [h, ...rows].join(nl));

test(`fuzz trace CSV parser (seed ${SEED}, 1000 runs)`, () => {
  fc.assert(
    fc.property(fc.oneof(traceText, fc.string({ maxLength: 100 })), (text) => {
      try {
        const t = parseTrace(text, 'fuzz.csv');
        assert.equal(t.t.length, t.rps.length);
        assert.ok(
          t.t.length > 0 && Number.isFinite(t.stepSeconds) && t.stepSeconds > 0,
          'a parsed trace has rows and a positive step',
        );
        for (let i = 0; i < t.t.length; i++)
          assert.ok(
            Number.isFinite(t.t[i]!) && Number.isFinite(t.rps[i]!) && t.rps[i]! >= 0,
            `row ${i} is finite`,
          );
        assert.ok(Number.isFinite(t.durationSeconds) && t.durationSeconds > 0);
      } catch (err) {
        assert.ok(
          isLuascaleError(err, 'LS_ERR_TRACE_INVALID'),
          `unexpected ${(err as Error)?.stack} for ${JSON.stringify(text)}`,
        );
        assert.match((err as Error).message, /fuzz\.csv/);
      }
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

const VALID = {
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  servers: [{ url: 'http://x/api' }],
  paths: {
    '/users/{id}': {
      get: {
        operationId: 'getUser',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'ok' } },
        'x-luascale-slo': { latency_p95_ms: 100 },
      },
    },
    '/items': { post: { responses: { 201: { description: 'made' } }, 'x-luascale-timeout': '2s' } },
  },
};
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '3.0.3',
    '2.0',
    '4.0.0',
    '',
    '#/paths',
    { $ref: '#/paths' },
    { $ref: 'http://127.0.0.1:9/x.json' },
    { $ref: '/etc/passwd' },
    { $ref: '#' },
    '-1s',
    'x'.repeat(5000),
  ),
);
const where = fc.constantFrom(
  ['openapi'],
  ['swagger'],
  ['servers'],
  ['servers', '0', 'url'],
  ['paths'],
  ['paths', '/users/{id}'],
  ['paths', '/users/{id}', 'get'],
  ['paths', '/users/{id}', 'get', 'operationId'],
  ['paths', '/users/{id}', 'get', 'x-luascale-slo'],
  ['paths', '/users/{id}', 'get', 'x-luascale-slo', 'latency_p95_ms'],
  ['paths', '/items', 'post', 'x-luascale-timeout'],
  ['paths', '/items', 'post', 'x-luascale-rate-limit'],
  ['paths', '/{a}/{a}'],
  ['x-luascale-slo'],
  ['components', 'schemas', 'A'],
);

test(`fuzz OpenAPI import (seed ${SEED + 1}, 60 runs)`, async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(where, hostile, fc.boolean(), async (path, value, yaml) => {
      const doc = structuredClone(VALID) as any;
      let o = doc;
      for (const k of path.slice(0, -1)) {
        if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
        o = o[k];
      }
      o[path[path.length - 1]!] = value;
      const file = join(dir, `doc${n++}.${yaml ? 'yaml' : 'json'}`);
      writeFileSync(file, yaml ? stringify(doc) : JSON.stringify(doc));
      const t0 = performance.now();
      try {
        const api = await importOpenApi(file);
        assert.ok(Array.isArray(api.operations));
      } catch (err) {
        assert.ok(
          isLuascaleError(err),
          `unexpected ${(err as Error)?.stack} for ${JSON.stringify(doc).slice(0, 300)}`,
        );
        assert.ok((err as Error).message.includes(file), 'the error names the file');
      }
      assert.ok(performance.now() - t0 < 5000, 'import finished quickly');
    }),
    { seed: SEED + 1, numRuns: 60 },
  );
});

test('OpenAPI import: random bytes, truncated documents and external refs give LS_ERR_OPENAPI_INVALID', async () => {
  const full = JSON.stringify(VALID);
  const cases = [
    '',
    '\u0000\u0001',
    full.slice(0, full.length / 2),
    '{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"$ref":"/etc/passwd"}}}',
    'openapi: 3.0.3\ninfo: &a\n  title: *a\n',
  ];
  for (const [i, text] of cases.entries()) {
    const file = join(dir, `raw${i}.yaml`);
    writeFileSync(file, text);
    await assert.rejects(
      importOpenApi(file),
      (err) => isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID'),
      `case ${i}`,
    );
  }
});

test('regression (fuzz seed 9091): a circular $ref inside x-luascale-slo threw "Converting circular structure to JSON"', async () => {
  const doc = structuredClone(VALID) as any;
  doc.paths['/users/{id}'].get['x-luascale-slo'] = { latency_p95_ms: { $ref: '#/paths' } };
  const file = join(dir, 'circular.json');
  writeFileSync(file, JSON.stringify(doc));
  await assert.rejects(
    importOpenApi(file),
    (err) =>
      isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID') &&
      /latency_p95_ms: must be a number .* got a circular \$ref/.test((err as Error).message),
  );
});
