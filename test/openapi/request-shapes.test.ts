/**
 * Request validation against the shapes real documents have (GitHub's, Stripe's, Twilio's, the
 * Kubernetes swagger): each test below failed on the validator before its fix, most by refusing a
 * valid request (a 400 the service would never have sent) or by silently checking nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOpenApi, type ImportedApi } from '../../src/openapi/import-openapi.js';
import { compileRequestValidator, type RequestParts } from '../../src/openapi/request-validator.js';
import { createSchemaCache } from '../../src/openapi/schema-cache.js';
import { templateParams } from '../../src/gateway/pipeline/template-params.js';
import { shared } from '../helpers/shared.js';

function parts(p: Partial<RequestParts>): RequestParts {
  return { pathParams: {}, query: new URLSearchParams(), headers: {}, hasBody: false, ...p };
}
const json = (body: unknown) => parts({ hasBody: true, contentType: 'application/json', body });

async function load(text: string): Promise<ImportedApi> {
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-shapes-'));
  writeFileSync(join(dir, 'api.yaml'), text);
  return importOpenApi(join(dir, 'api.yaml'));
}
function validator(api: ImportedApi, id: string) {
  const op = api.operations.find((o) => o.operationId === id);
  assert.ok(op, id);
  return compileRequestValidator(op);
}

test('a path parameter sharing its segment with text ({Sid}.json, {repo}.git) is read from the path', async () => {
  const api = await importOpenApi(shared('openapi', 'twilio-api-v2010.yaml'));
  const op = api.operations.find((o) => o.operationId === 'FetchAccount')!;
  assert.equal(op.path, '/2010-04-01/Accounts/{Sid}.json');
  const sid = 'AC' + '0123456789abcdef'.repeat(2);
  const pathParams = templateParams(op.path, `/2010-04-01/Accounts/${sid}.json`);
  assert.deepEqual(pathParams, { Sid: sid });
  assert.equal(compileRequestValidator(op)(parts({ pathParams })), null);
  assert.deepEqual(templateParams('/{owner}/{repo}.git', '/acme/a.b.git'), { owner: 'acme', repo: 'a.b' });
  assert.deepEqual(templateParams('/files/{name}', '/files/a%20b.tar.gz'), { name: 'a b.tar.gz' });
});

const SCHEMAS = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [id, name]
              properties:
                id: { type: integer, readOnly: true }
                name: { type: string }
                age: { type: integer, minimum: 0, exclusiveMinimum: true }
                status: { type: string, enum: [a, b], nullable: true }
      responses: { "200": { description: ok } }
  /animals:
    post:
      operationId: addAnimal
      requestBody:
        content:
          application/json:
            schema:
              oneOf: [{ $ref: '#/components/schemas/Cat' }, { $ref: '#/components/schemas/Dog' }]
              discriminator: { propertyName: kind }
      responses: { "200": { description: ok } }
  /tree:
    post:
      operationId: tree
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Node' }
      responses: { "200": { description: ok } }
components:
  schemas:
    Cat: { type: object, required: [kind, name], properties: { kind: { type: string }, name: { type: string } } }
    Dog:
      type: object
      required: [kind, name]
      properties: { kind: { type: string }, name: { type: string }, bark: { type: boolean } }
    Node:
      type: object
      required: [name]
      properties:
        name: { type: string }
        children: { type: array, items: { $ref: '#/components/schemas/Node' } }
`;

test('3.0 boolean exclusiveMinimum is honoured, and the rest of the schema is still checked', async () => {
  // Before: ajv refused to compile the boolean form, and the whole body went unchecked.
  const add = validator(await load(SCHEMAS), 'addPet');
  assert.deepEqual(add(json({ name: 'rex', age: 0 })), { field: 'body.age', message: 'must be > 0' });
  assert.deepEqual(add(json({ name: 'rex', age: 'old' })), { field: 'body.age', message: 'must be integer' });
  assert.equal(add(json({ name: 'rex', age: 1 })), null);
});

test('a required readOnly property is not required in a request; nullable enums accept null', async () => {
  const add = validator(await load(SCHEMAS), 'addPet');
  assert.equal(add(json({ name: 'rex', status: null })), null);
  assert.equal(add(json({ id: 7, name: 'rex' })), null);
  assert.equal(add(json({ id: 7 }))?.field, 'body.name');
});

test('oneOf with a discriminator accepts a subtype that also matches its sibling', async () => {
  const add = validator(await load(SCHEMAS), 'addAnimal');
  assert.equal(add(json({ kind: 'dog', name: 'rex', bark: true })), null);
  assert.equal(add(json({ kind: 'cat', name: 'tom' })), null);
  assert.equal(add(json({ kind: 'cat' }))?.field, 'body.name');
});

test('a recursive schema is validated at every depth (it was skipped as uncompilable)', async () => {
  const tree = validator(await load(SCHEMAS), 'tree');
  assert.equal(tree(json({ name: 'a', children: [{ name: 'b', children: [{ name: 'c' }] }] })), null);
  assert.deepEqual(tree(json({ name: 'a', children: [{ name: 'b', children: [{ name: 3 }] }] })), {
    field: 'body.children.0.children.0.name',
    message: 'must be string',
  });
  assert.equal(tree(json({ name: 'a', children: [{}] }))?.field, 'body.children.0.name');
});

const PARAMS = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /q:
    get:
      operationId: q
      parameters:
        - { name: ids, in: query, style: form, explode: false, schema: { type: array, items: { type: integer } } }
        - { name: tags, in: query, schema: { type: array, items: { type: string, enum: [a, b] } } }
        - { name: pipes, in: query, style: pipeDelimited, explode: false, schema: { type: array, items: { type: integer } } }
        - name: filter
          in: query
          style: deepObject
          required: true
          schema: { type: object, required: [name], properties: { name: { type: string }, min: { type: integer } } }
        - { name: Accept, in: header, required: true, schema: { type: string, enum: [application/json] } }
        - { name: session, in: cookie, required: true, schema: { type: string, minLength: 4 } }
        - { name: anything, in: query, schema: true }
      responses: { "200": { description: ok } }
`;

test('query arrays by style/explode, deepObject, cookies; Accept/Content-Type/Authorization params ignored', async () => {
  const q = validator(await load(PARAMS), 'q');
  const req = (query: string, cookie = 'session=abcd') =>
    q(parts({ query: new URLSearchParams(query), headers: { accept: '*/*', cookie } }));
  const ok = 'filter[name]=x';
  assert.equal(req(`${ok}&ids=1,2,3&tags=a&tags=b&pipes=1|2&anything=1`), null);
  assert.deepEqual(req(`${ok}&ids=1,x`), { field: 'query.ids', message: 'must be integer' });
  assert.equal(req(`${ok}&tags=a,b`)?.field, 'query.tags', 'exploded: one value "a,b"');
  assert.equal(req(`${ok}&pipes=1|y`)?.field, 'query.pipes');
  assert.deepEqual(req('ids=1'), { field: 'query.filter', message: 'is required' });
  assert.equal(req('filter[min]=1')?.field, 'query.filter');
  assert.equal(req('filter[name]=x&filter[min]=z')?.field, 'query.filter');
  assert.deepEqual(req(ok, ''), { field: 'cookie.session', message: 'is required' });
  assert.equal(req(ok, 'a=1; session=ab')?.field, 'cookie.session');
});

test('Swagger 2.0 csv/pipes/multi query arrays and boolean exclusiveMaximum', async () => {
  const api = await load(`swagger: "2.0"
info: { title: t, version: "1" }
paths:
  /q:
    get:
      operationId: q
      parameters:
        - { name: ids, in: query, type: array, items: { type: integer } }
        - { name: p, in: query, type: array, collectionFormat: pipes, items: { type: integer } }
        - { name: m, in: query, type: array, collectionFormat: multi, items: { type: string } }
        - { name: n, in: query, type: number, maximum: 10, exclusiveMaximum: true }
      responses: { "200": { description: ok } }
`);
  const q = validator(api, 'q');
  const req = (query: string) => q(parts({ query: new URLSearchParams(query) }));
  assert.equal(req('ids=1,2&p=3|4&m=a,b&m=c&n=9.5'), null);
  assert.equal(req('ids=1,x')?.field, 'query.ids');
  assert.equal(req('p=3|x')?.field, 'query.p');
  assert.deepEqual(req('n=10'), { field: 'query.n', message: 'must be < 10' });
});

test('OpenAPI 3.1 schemas are JSON Schema 2020-12: prefixItems, const, type arrays, $defs, recursion', async () => {
  const api = await load(`openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /a:
    post:
      operationId: p
      requestBody: { content: { application/json: { schema: { $ref: '#/components/schemas/S' } } } }
      responses: { "200": { description: ok } }
components:
  schemas:
    S:
      type: object
      required: [kind, pair]
      properties:
        kind: { const: pet }
        n: { type: [integer, "null"], exclusiveMinimum: 0 }
        pair: { type: array, prefixItems: [{ type: string }], items: { type: integer } }
        child: { $ref: '#/components/schemas/S/$defs/C' }
        next: { $ref: '#/components/schemas/S' }
      $defs:
        C: { type: object, required: [x], properties: { x: { type: string } } }
`);
  const p = validator(api, 'p');
  // Was 400 "body.pair.0: must be integer": draft 7 ignores prefixItems and applies items to all.
  assert.equal(p(json({ kind: 'pet', pair: ['a', 1, 2], n: null })), null);
  assert.deepEqual(p(json({ kind: 'pet', pair: ['a', 'b'] })), {
    field: 'body.pair.1',
    message: 'must be integer',
  });
  assert.equal(p(json({ kind: 'dog', pair: [] }))?.field, 'body.kind');
  assert.deepEqual(p(json({ kind: 'pet', pair: [], n: 0 })), { field: 'body.n', message: 'must be > 0' });
  assert.equal(p(json({ kind: 'pet', pair: [], child: {} }))?.field, 'body.child.x');
  assert.equal(
    p(json({ kind: 'pet', pair: [], next: { kind: 'pet', pair: [1] } }))?.field,
    'body.next.pair.0',
  );
});

test('a body nested deeper than the stack, against a recursive schema, is a 400 verdict, not a throw', async () => {
  const tree = validator(await load(SCHEMAS), 'tree');
  let body: Record<string, unknown> = { name: 'leaf' };
  for (let i = 0; i < 50_000; i++) body = { name: 'n', children: [body] };
  assert.deepEqual(tree(json(body)), { field: 'body', message: 'is nested too deeply to check' });
});

test('schemas that all reach each other (Stripe, GitHub) compile once per document, not per operation', async () => {
  // 300 schemas, each referring to 4 others (so every one reaches all, through cycles), and 200
  // operations whose bodies start at different ones. Compiling each operation's whole graph took
  // ~100 ms an operation (minutes for a large document, on the event loop); now ~ms.
  const schemas: Record<string, unknown> = {};
  for (let i = 0; i < 300; i++)
    schemas[`S${i}`] = {
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 12 }, (_, k) => [
          `p${k}`,
          k < 4 ? { $ref: `#/components/schemas/S${(i * 7 + k + 1) % 300}` } : { type: 'string' },
        ]),
      ),
    };
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++)
    paths[`/r${i}`] = {
      post: {
        operationId: `op${i}`,
        requestBody: { content: { 'application/json': { schema: { $ref: `#/components/schemas/S${i}` } } } },
        responses: { '200': { description: 'ok' } },
      },
    };
  const api = await load(
    JSON.stringify({
      openapi: '3.0.3',
      info: { title: 'mesh', version: '1' },
      paths,
      components: { schemas },
    }),
  );
  const cache = createSchemaCache();
  const start = performance.now();
  for (const op of api.operations) {
    const v = compileRequestValidator(op, { cache });
    assert.equal(v(json({ p4: 'x', p0: { p5: 'y' } })), null);
    assert.deepEqual(v(json({ p0: { p1: { p6: 7 } } })), {
      field: 'body.p0.p1.p6',
      message: 'must be string',
    });
  }
  const ms = performance.now() - start;
  assert.ok(ms < 8000, `200 operations' first requests took ${Math.round(ms)} ms`);
});

test('a path parameter the template does not name is not required (it could never be sent)', async () => {
  const api = await load(`openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a/{id}:
    get:
      operationId: g
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer } }
        - { name: other, in: path, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
`);
  const g = validator(api, 'g');
  assert.equal(g(parts({ pathParams: { id: '7' } })), null);
  assert.equal(g(parts({ pathParams: { id: 'x' } }))?.field, 'path.id');
});

test('form bodies: repeated names are arrays, bracket keys nest (Stripe), and fields are coerced', async () => {
  const { parseForm } = await import('../../src/openapi/request-validator.js');
  assert.deepEqual(
    JSON.parse(JSON.stringify(parseForm('a[b][c]=1&a[b][d]=2&l[]=x&l[]=y&i[0][p]=q&i[1][p]=r&z=1&z=2'))),
    { a: { b: { c: '1', d: '2' } }, l: ['x', 'y'], i: [{ p: 'q' }, { p: 'r' }], z: ['1', '2'] },
  );
  assert.equal(Object.getPrototypeOf(parseForm('__proto__[x]=1')), null, 'no prototype to pollute');
  const api = await load(`openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /charges:
    post:
      operationId: charge
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              additionalProperties: false
              required: [amount]
              properties:
                amount: { type: integer, minimum: 1 }
                capture: { type: boolean }
                metadata: { type: object, additionalProperties: { type: string } }
                expand: { type: array, items: { type: string } }
`);
  const charge = validator(api, 'charge');
  const form = (text: string) =>
    charge(parts({ hasBody: true, contentType: 'application/x-www-form-urlencoded', body: text }));
  assert.equal(form('amount=100&capture=true&metadata[order]=7&expand[]=customer'), null);
  assert.deepEqual(form('amount=0'), { field: 'body.amount', message: 'must be >= 1' });
  assert.deepEqual(form('capture=false'), {
    field: 'body.amount',
    message: "must have required property 'amount'",
  });
  assert.equal(form('amount=1&colour=red')?.message, 'must NOT have additional properties');
});

test('format keywords are checked (uuid, date-time, date), int64 beyond 2^53 passes, unknown formats are ignored', async () => {
  const api = await load(`openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /a/{id}:
    post:
      operationId: a
      parameters:
        - { name: id, in: path, required: true, schema: { type: string, format: uuid } }
        - { name: since, in: query, schema: { type: string, format: date-time } }
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                big: { type: integer, format: int64 }
                phone: { type: string, format: phone-number }
                at: { type: string, format: date }
      responses: { "200": { description: ok } }
`);
  const a = validator(api, 'a');
  const id = '123e4567-e89b-12d3-a456-426614174000';
  const body = JSON.parse('{"big": 9223372036854775807, "phone": "+1 555", "at": "2024-02-03"}');
  const since = new URLSearchParams('since=2024-01-01T00:00:00Z');
  assert.equal(
    a(parts({ pathParams: { id }, query: since, hasBody: true, contentType: 'application/json', body })),
    null,
  );
  assert.deepEqual(a(parts({ pathParams: { id: 'nope' } })), {
    field: 'path.id',
    message: 'must match format "uuid"',
  });
  assert.equal(
    a(parts({ pathParams: { id }, query: new URLSearchParams('since=yesterday') }))?.field,
    'query.since',
  );
  const bad = json({ at: '2024-13-45' });
  assert.deepEqual(a({ ...bad, pathParams: { id } }), {
    field: 'body.at',
    message: 'must match format "date"',
  });
});

test('path parameters in style label and matrix (OpenAPI 3 §4.8.12.4) are read without their prefix', async () => {
  const api = await load(`openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /l/{id}:
    get:
      operationId: label
      parameters: [{ name: id, in: path, required: true, style: label, schema: { type: integer } }]
      responses: { "200": { description: ok } }
  /le/{ids}:
    get:
      operationId: labelExploded
      parameters:
        - { name: ids, in: path, required: true, style: label, explode: true, schema: { type: array, items: { type: integer } } }
      responses: { "200": { description: ok } }
  /m/{id}:
    get:
      operationId: matrix
      parameters: [{ name: id, in: path, required: true, style: matrix, schema: { type: integer } }]
      responses: { "200": { description: ok } }
  /me/{ids}:
    get:
      operationId: matrixExploded
      parameters:
        - { name: ids, in: path, required: true, style: matrix, explode: true, schema: { type: array, items: { type: integer } } }
      responses: { "200": { description: ok } }
`);
  const check = (id: string, template: string, path: string) =>
    validator(api, id)(parts({ pathParams: templateParams(template, path) }));
  assert.equal(check('label', '/l/{id}', '/l/.5'), null);
  assert.equal(check('label', '/l/{id}', '/l/.x')?.field, 'path.id');
  assert.equal(check('labelExploded', '/le/{ids}', '/le/.3.4.5'), null);
  assert.equal(check('labelExploded', '/le/{ids}', '/le/.3.x')?.field, 'path.ids');
  assert.equal(check('matrix', '/m/{id}', '/m/;id=5'), null);
  assert.equal(check('matrix', '/m/{id}', '/m/;id=x')?.field, 'path.id');
  assert.equal(check('matrixExploded', '/me/{ids}', '/me/;ids=3;ids=4'), null);
  assert.equal(check('matrixExploded', '/me/{ids}', '/me/;ids=3;ids=y')?.field, 'path.ids');
});
