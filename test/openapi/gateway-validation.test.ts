/**
 * Requests through a gateway validating against a document (`validate_requests: true`), with the
 * media types, path templates and names real documents use. Each expectation below failed before
 * its fix: a valid request refused (400) or sent to the wrong operation, or an invalid one passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import { shared } from '../helpers/shared.js';

/** A gateway for `doc` (a file path) in front of an instance that echoes what reached it. */
async function withGateway(
  doc: string,
  run: (call: (method: string, path: string, ct?: string, body?: string) => Promise<Answer>) => Promise<void>,
): Promise<void> {
  const upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () =>
      res.end(JSON.stringify({ reached: `${req.method} ${req.url}${body ? ` ${body}` : ''}` })),
    );
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-gw-'));
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/v.db" }
services:
  s:
    openapi: ${JSON.stringify(doc)}
    validate_requests: true
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
  const app = await startApp({
    config: parseConfig(text, join(dir, 'luascale.yaml')),
    file: join(dir, 'luascale.yaml'),
    baseDir: dir,
  });
  try {
    await run(async (method, path, ct, body) => {
      const r = await request(`${app.gatewayUrl}${path}`, {
        method,
        headers: ct ? { 'content-type': ct } : {},
        body,
      });
      const text = await r.body.text();
      const answer = text ? JSON.parse(text) : {};
      return { status: r.statusCode, message: answer.error?.message, reached: answer.reached };
    });
  } finally {
    await app.close({ graceMs: 500 });
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
interface Answer {
  status: number;
  message?: string;
  reached?: string;
}

const NAME = '{ type: object, required: [name], properties: { name: { type: string } } }';
const DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /json:
    post:
      requestBody: { required: true, content: { "application/json; charset=utf-8": { schema: ${NAME} } } }
      responses: { "200": { description: ok } }
  /vnd:
    post:
      requestBody: { required: true, content: { "application/vnd.github+json": { schema: ${NAME} } } }
      responses: { "200": { description: ok } }
  /ndjson:
    post:
      requestBody: { content: { "application/x-ndjson": { schema: { type: string } } } }
      responses: { "200": { description: ok } }
  /merge:
    patch:
      requestBody:
        content:
          application/json: { schema: ${NAME} }
          application/merge-patch+json:
            schema: { type: object, properties: { name: { type: string, nullable: true } } }
      responses: { "200": { description: ok } }
  /café/{id}:
    get:
      operationId: cafe
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { "200": { description: ok } }
  /{owner}/{repo}:
    get:
      parameters:
        - { name: owner, in: path, required: true, schema: { type: string } }
        - { name: repo, in: path, required: true, schema: { type: string, pattern: "^[a-z]+$" } }
      responses: { "200": { description: ok } }
  /{owner}/{repo}.git:
    get:
      parameters:
        - { name: owner, in: path, required: true, schema: { type: string } }
        - { name: repo, in: path, required: true, schema: { type: string, pattern: "^[a-z]+$" } }
      responses: { "200": { description: ok } }
`;

test(
  'media types: each body against its own media type, never one passed unchecked',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-oas-gwdoc-'));
    writeFileSync(join(dir, 'api.yaml'), DOC);
    await withGateway(join(dir, 'api.yaml'), async (call) => {
      assert.equal(
        (await call('POST', '/json', 'application/json; charset=utf-8', '{"name":"a"}')).status,
        200,
      );
      assert.equal(
        (await call('POST', '/json', 'application/json', '{"nam":"a"}')).message,
        "body.name: must have required property 'name'",
      );
      // Was passed unchecked: another Content-Type skipped validation of a JSON-only operation.
      // 415 (RFC 9110 §15.5.16): the content is of a type the operation does not take.
      assert.deepEqual(await call('POST', '/json', 'text/plain', '{"nam":"a"}'), {
        status: 415,
        message: 'header.content-type: must be one of ["application/json"]',
        reached: undefined,
      });
      const untyped = await call('POST', '/json', undefined, '{"nam":"a"}');
      assert.equal(untyped.status, 415);
      assert.match(untyped.message!, /^header\.content-type: is required/);
      // A vendor +json type is JSON; plain application/json is taken for it.
      assert.equal(
        (await call('POST', '/vnd', 'application/vnd.github+json', '{}')).message,
        "body.name: must have required property 'name'",
      );
      assert.equal((await call('POST', '/vnd', 'application/json', '{"name":"a"}')).status, 200);
      // Was 400 "is not valid JSON": x-ndjson is not JSON.
      assert.equal((await call('POST', '/ndjson', 'application/x-ndjson', '{"a":1}\n{"a":2}\n')).status, 200);
      // Was checked against application/json's schema (name required, not null).
      assert.equal(
        (await call('PATCH', '/merge', 'application/merge-patch+json', '{"name":null}')).status,
        200,
      );
      assert.equal((await call('PATCH', '/merge', 'application/json', '{}')).status, 400);
    });
  },
);

test('path templates: non-ASCII literals, and {repo}.git before {repo}', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-gwdoc-'));
  writeFileSync(join(dir, 'api.yaml'), DOC);
  await withGateway(join(dir, 'api.yaml'), async (call) => {
    // Was routed to /{owner}/{repo} (the template never matched the encoded path) and refused.
    assert.deepEqual(await call('GET', '/caf%C3%A9/12'), {
      status: 200,
      message: undefined,
      reached: 'GET /caf%C3%A9/12',
    });
    assert.equal((await call('GET', '/caf%C3%A9/x')).message, 'path.id: must be integer');
    // Was matched by /{owner}/{repo}, whose repo pattern refuses "widgets.git".
    assert.equal((await call('GET', '/acme/widgets.git')).status, 200);
    assert.equal(
      (await call('GET', '/acme/Widgets.git')).message,
      'path.repo: must match pattern "^[a-z]+$"',
    );
    assert.equal((await call('GET', '/acme/widgets')).status, 200);
    // Was 404 "matches no operation": HEAD is served wherever GET is (RFC 9110 §9.3.2).
    assert.equal((await call('HEAD', '/acme/widgets')).status, 200);
    assert.equal((await call('HEAD', '/acme/Widgets')).message, undefined, 'a HEAD answer has no body');
    assert.equal((await call('HEAD', '/acme/Widgets')).status, 400);
  });
});

test(
  'Twilio: {Sid}.json paths pass validation, and form bodies are checked',
  { timeout: 60_000 },
  async () => {
    // Was 400 "path.Sid: is required" for every such operation (most of the document).
    await withGateway(shared('openapi', 'twilio-api-v2010.yaml'), async (call) => {
      const sid = 'AC' + '0123456789abcdef'.repeat(2);
      assert.equal((await call('GET', `/2010-04-01/Accounts/${sid}.json`)).status, 200);
      assert.equal(
        (await call('GET', '/2010-04-01/Accounts/nope.json')).message,
        'path.Sid: must NOT have fewer than 34 characters',
      );
      // Form bodies (all of Twilio's writes) were never checked: CreateCall requires To and From.
      const calls = `/2010-04-01/Accounts/${sid}/Calls.json`;
      const form = 'application/x-www-form-urlencoded';
      const url = 'Url=https%3A%2F%2Fx.io%2Fa.xml';
      const valid = `To=%2B15551234567&From=%2B15557654321&${url}`;
      assert.deepEqual(await call('POST', calls, form, valid), {
        status: 200,
        message: undefined,
        reached: `POST ${calls} ${valid}`,
      });
      assert.equal(
        (await call('POST', calls, form, `To=%2B15551234567&${url}`)).message,
        "body.From: must have required property 'From'",
      );
      assert.equal(
        (await call('POST', calls, form, 'To=%2B1&From=%2B2&Timeout=soon')).message,
        'body.Timeout: must be integer',
      );
    });
  },
);
