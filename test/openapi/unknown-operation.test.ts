/**
 * Issue 16 item 12: with `validate_requests: true`, a request that matches no operation of the
 * document gets 404 with the error body (as Kong's and APISIX's validators answer) instead of
 * passing through the service's catch-all route; without validation it still passes through.
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

for (const validate of [true, false]) {
  test(
    `validate_requests: ${validate}: a path or method outside the document is ${validate ? '404' : 'passed through'}`,
    { timeout: 60_000 },
    async () => {
      let upstreamHits = 0;
      const upstream = createServer((_req, res) => {
        upstreamHits++;
        res.end('{}');
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      const port = (upstream.address() as { port: number }).port;
      const dir = mkdtempSync(join(tmpdir(), 'ls-oas-404-'));
      writeFileSync(
        join(dir, 'api.yaml'),
        `openapi: 3.0.3
info: { title: pets, version: "1" }
servers: [{ url: "http://example.com/v1" }]
paths:
  /pets:
    get:
      operationId: listPets
      responses: { "200": { description: ok } }
`,
      );
      // No routes: the default catch-all route (path_prefix /) stays beside the operations.
      const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/v.db" }
services:
  pets:
    openapi: ./api.yaml
    validate_requests: ${validate}
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
      const app = await startApp({
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      });
      try {
        const call = async (method: string, path: string) => {
          const r = await request(`${app.gatewayUrl}${path}`, { method });
          return { status: r.statusCode, text: await r.body.text() };
        };
        assert.equal((await call('GET', '/v1/pets')).status, 200);
        const unknownPath = await call('GET', '/v1/nonexistent');
        const unknownMethod = await call('DELETE', '/v1/pets');
        if (validate) {
          for (const [r, what] of [
            [unknownPath, 'GET /v1/nonexistent'],
            [unknownMethod, 'DELETE /v1/pets'],
          ] as const) {
            assert.equal(r.status, 404);
            const body = JSON.parse(r.text);
            assert.equal(body.error.code, 'LS_ERR_GATEWAY_NO_OPERATION');
            assert.equal(body.error.message, `${what} matches no operation of the OpenAPI document`);
          }
          assert.equal(upstreamHits, 1, 'only the documented request reached the instance');
        } else {
          assert.equal(unknownPath.status, 200);
          assert.equal(unknownMethod.status, 200);
          assert.equal(upstreamHits, 3);
        }
      } finally {
        await app.close({ graceMs: 500 });
        upstream.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
