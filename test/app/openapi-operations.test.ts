/**
 * Issue 6: a service's OpenAPI document drives routes, operation names and SLOs; the per-operation
 * p95 measured by the gateway reaches Lua as ctx.operations[operationId] (with its slo) and shows in
 * GET /v1/services/{name}.
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
import { systemClock, type Clock } from '../../src/core/clock.js';

test(
  'per-operation p95 and SLOs from the OpenAPI document reach ctx.operations and the admin API',
  { timeout: 60_000 },
  async () => {
    // Upstream: /v1/pets answers after 30 ms, /v1/pets/{id} at once.
    const upstream = createServer((req, res) => {
      if (req.url === '/v1/pets') setTimeout(() => res.end('[]'), 30);
      else res.end('{}');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-oas-app-'));
    writeFileSync(
      join(dir, 'api.yaml'),
      `openapi: 3.0.3
info: { title: pets, version: "1" }
servers: [{ url: "http://example.com/v1" }]
x-luascale-slo: { latency_p95_ms: 500 }
paths:
  /pets:
    get:
      operationId: listPets
      x-luascale-slo: { latency_p95_ms: 20 }
      responses: { "200": { description: ok } }
  /pets/{id}:
    get:
      responses: { "200": { description: ok } }
`,
    );
    // The policy reads the operation's measured p95 against its own SLO and says what it saw.
    writeFileSync(
      join(dir, 'slo.lua'),
      `function decide(ctx)
  local op = ctx.operations.listPets
  if op.latency.p95 > op.slo.latency_p95_ms then
    return { replicas = ctx.replicas + 1, reason = string.format("listPets p95 %.0f ms > %d ms", op.latency.p95, op.slo.latency_p95_ms) }
  end
  return ctx.replicas
end
`,
    );
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/o.db" }
services:
  pets:
    routes: []
    openapi: ./api.yaml
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, window: 5s, policy: ./slo.lua }
`;
    // Real time (latencies are real), plus a skew the test moves forward so the tick sees the
    // requests' second as complete without waiting for it.
    let skew = 0;
    const clock: Clock = { now: () => systemClock.now() + skew, wallNow: () => Date.now() + skew };
    const app = await startApp(
      {
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      },
      { clock },
    );
    try {
      for (let i = 0; i < 20; i++) {
        const [a, b] = await Promise.all([
          request(`${app.gatewayUrl}/v1/pets`),
          request(`${app.gatewayUrl}/v1/pets/${i}`),
        ]);
        assert.equal(a.statusCode, 200);
        assert.equal(b.statusCode, 200);
        await Promise.all([a.body.dump(), b.body.dump()]);
      }
      const miss = await request(`${app.gatewayUrl}/v2/other`);
      assert.equal(miss.statusCode, 404, 'only the document routes exist');
      await miss.body.dump();
      skew += 2000; // the requests' second is complete
      const d = await app.controllers.get('pets')!.tick();
      const ops = d.inputs.operations!;
      assert.ok(ops.listPets!.latency.p95 >= 25, `listPets p95 ${ops.listPets!.latency.p95}`);
      assert.deepEqual(ops.listPets!.slo, { latency_p95_ms: 20 });
      assert.ok(ops.get_pets_id, 'an operation without operationId gets a derived name');
      assert.deepEqual(ops.get_pets_id!.slo, { latency_p95_ms: 500 }, 'the document-level SLO applies');
      assert.equal(
        d.policy.outcome.ok && d.policy.outcome.reason?.startsWith('listPets p95'),
        true,
        JSON.stringify(d.policy.outcome),
      );
      const svc = (await (await request(`${app.adminUrl}/v1/services/pets`)).body.json()) as any;
      assert.ok(svc.operations.listPets.latency.p95 >= 25);
      assert.equal(svc.operations.listPets.slo.latency_p95_ms, 20);
    } finally {
      await app.close({ graceMs: 1000 });
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'validate_requests: a request that breaks the document gets 400 naming the field, before any instance sees it',
  { timeout: 60_000 },
  async () => {
    let upstreamHits = 0;
    const upstream = createServer((req, res) => {
      upstreamHits++;
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => res.end(JSON.stringify({ got: body })));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-oas-val-'));
    writeFileSync(
      join(dir, 'api.yaml'),
      `openapi: 3.0.3
info: { title: pets, version: "1" }
paths:
  /pets:
    get:
      operationId: listPets
      parameters: [{ name: limit, in: query, schema: { type: integer, maximum: 100 } }]
      responses: { "200": { description: ok } }
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [name], properties: { name: { type: string }, age: { type: integer, nullable: true } } }
      responses: { "200": { description: ok } }
`,
    );
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/v.db" }
services:
  pets:
    routes: []
    openapi: ./api.yaml
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
      const call = async (method: 'GET' | 'POST', path: string, body?: string) => {
        const r = await request(`${app.gatewayUrl}${path}`, {
          method,
          body,
          headers: body ? { 'content-type': 'application/json' } : {},
        });
        return { status: r.statusCode, json: (await r.body.json()) as any };
      };
      assert.equal((await call('GET', '/pets?limit=5')).status, 200);
      const badQuery = await call('GET', '/pets?limit=500');
      assert.equal(badQuery.status, 400);
      assert.equal(badQuery.json.error.code, 'LS_ERR_GATEWAY_INVALID_REQUEST');
      assert.match(badQuery.json.error.message, /^query\.limit: must be <= 100/);
      const good = await call('POST', '/pets', JSON.stringify({ name: 'rex', age: null }));
      assert.equal(good.status, 200);
      assert.equal(
        good.json.got,
        '{"name":"rex","age":null}',
        'the validated body reaches the instance unchanged',
      );
      const missing = await call('POST', '/pets', JSON.stringify({ age: 3 }));
      assert.equal(missing.status, 400);
      assert.match(missing.json.error.message, /^body\.name: must have required property 'name'/);
      const notJson = await call('POST', '/pets', '{nope');
      assert.equal(notJson.status, 400);
      assert.match(notJson.json.error.message, /^body: is not valid JSON/);
      assert.equal(upstreamHits, 2, 'invalid requests never reach an instance');
    } finally {
      await app.close({ graceMs: 500 });
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
