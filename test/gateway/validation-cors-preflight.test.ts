/**
 * With `validate_requests: true`, a CORS preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) reaches the instance even though the document lists no OPTIONS
 * operation: a 404 there would make the browser refuse the real request too. Any other request
 * that matches no operation is still 404, OPTIONS without the preflight headers included.
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

const DOC = `
openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { '200': { description: ok } }
`;

test('a CORS preflight passes validation to the instance; other unknown requests stay 404', async () => {
  const reached: string[] = [];
  const upstream = createServer((req, res) => {
    reached.push(`${req.method} ${req.url}`);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-methods': 'GET',
      });
      res.end();
    } else res.end('{}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-cors-'));
  writeFileSync(join(dir, 'api.yaml'), DOC);
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/v.db" }
services:
  s:
    openapi: api.yaml
    validate_requests: true
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
  const app = await startApp({
    config: parseConfig(text, join(dir, 'luascale.yaml')),
    file: join(dir, 'luascale.yaml'),
    baseDir: dir,
  });
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const r = await request(`${app.gatewayUrl}${path}`, { method, headers });
    await r.body.text();
    return { status: r.statusCode, allow: r.headers['access-control-allow-origin'] };
  };
  try {
    const preflight = await call('OPTIONS', '/pets/7', {
      origin: 'https://app.example',
      'access-control-request-method': 'GET',
    });
    assert.deepEqual(preflight, { status: 204, allow: 'https://app.example' });
    assert.deepEqual(reached, ['OPTIONS /pets/7']);
    assert.equal((await call('GET', '/pets/7', { origin: 'https://app.example' })).status, 200);
    assert.equal((await call('OPTIONS', '/pets/7')).status, 404, 'not a preflight');
    assert.equal((await call('DELETE', '/pets/7')).status, 404);
    assert.equal((await call('GET', '/pets/x')).status, 400, 'validation still holds');
    assert.deepEqual(reached, ['OPTIONS /pets/7', 'GET /pets/7']);
  } finally {
    await app.close({ graceMs: 500 });
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
