/**
 * `proto:` (issue 21): a gRPC service's .proto imported as OpenAPI documents are: each rpc an
 * operation `package.Service/Method` at `POST /package.Service/Method`, x-luascale-* comment lines
 * as extensions (the rpc's winning field by field over the service's), imports resolved from the
 * file's directory, and a broken file or comment refused naming the file and the rpc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importProto } from '../../src/openapi/import-proto.js';
import { parseConfig } from '../../src/config/load-config.js';
import { loadServices } from '../../src/app/service-inputs.js';
import { serviceOptions } from '../../src/app/gateway-options.js';

const CART = `
syntax = "proto3";
package shop.v1;
import "item.proto";

// The shopping cart.
// x-luascale-slo: { latency_p95_ms: 200, error_rate: 0.01 }
service Cart {
  // Adds an item.
  // x-luascale-slo: { latency_p95_ms: 80 }
  // x-luascale-timeout: 2s
  rpc Add (shop.v1.Item) returns (shop.v1.Item);
  rpc Watch (shop.v1.Item) returns (stream shop.v1.Item);
}
`;
const ITEM = `syntax = "proto3";\npackage shop.v1;\nmessage Item { string id = 1; }\n`;

function withFiles(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ls-proto-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('each rpc is an operation at its gRPC path, with SLOs and timeouts from comment lines', () =>
  withFiles({ 'cart.proto': CART, 'item.proto': ITEM }, async (dir) => {
    const api = await importProto(join(dir, 'cart.proto'));
    assert.deepEqual(
      api.operations.map((o) => [o.operationId, o.method, o.path]),
      [
        ['shop.v1.Cart/Add', 'POST', '/shop.v1.Cart/Add'],
        ['shop.v1.Cart/Watch', 'POST', '/shop.v1.Cart/Watch'],
      ],
    );
    const [add, watch] = api.operations;
    assert.deepEqual(add!.slo, { latency_p95_ms: 80, error_rate: 0.01 });
    assert.equal(add!.timeoutMs, 2000);
    assert.deepEqual(watch!.slo, { latency_p95_ms: 200, error_rate: 0.01 });
    assert.equal(watch!.timeoutMs, undefined);
  }));

test('a bad file or a bad extension is refused naming the file and the rpc', () =>
  withFiles(
    {
      'broken.proto': 'syntax = "proto3";\nservice S { rpc A (X) returns (X) }\n',
      'slo.proto':
        'syntax = "proto3";\nmessage M {}\nservice S {\n  // x-luascale-slo: { latency_p95_ms: -1 }\n  rpc A (M) returns (M);\n}\n',
      'empty.proto': 'syntax = "proto3";\nmessage M {}\n',
    },
    async (dir) => {
      await assert.rejects(importProto(join(dir, 'broken.proto')), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'LS_ERR_OPENAPI_INVALID');
        assert.ok(err.message.startsWith(join(dir, 'broken.proto')), err.message);
        return true;
      });
      await assert.rejects(
        importProto(join(dir, 'slo.proto')),
        /slo\.proto#\/S\/A\/x-luascale-slo\/latency_p95_ms: must be a number in \(0, Infinity\], got -1/,
      );
      await assert.rejects(importProto(join(dir, 'empty.proto')), /no service with an rpc/);
    },
  ));

test('a service with proto: gets one route per rpc, named by its operation (per-method signals)', () =>
  withFiles({ 'cart.proto': CART, 'item.proto': ITEM }, async (dir) => {
    const file = join(dir, 'luascale.yaml');
    const yaml = `
services:
  cart:
    proto: cart.proto
    upstream: { protocol: h2c }
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
`;
    const config = parseConfig(yaml, file);
    const { apis } = await loadServices({ config, file, baseDir: dir });
    const routes = serviceOptions(config.services.cart!, apis.cart).routes!;
    const byPath = new Map(routes.map((r) => [(r as { path?: string }).path, r]));
    const add = byPath.get('/shop.v1.Cart/Add') as
      { operationId?: string; methods?: string[]; timeouts?: { response?: number } } | undefined;
    assert.ok(add, JSON.stringify(routes));
    assert.equal(add.operationId, 'shop.v1.Cart/Add');
    assert.deepEqual(add.methods, ['POST']);
    assert.equal(add.timeouts?.response, 2000, 'x-luascale-timeout of the rpc');
  }));
