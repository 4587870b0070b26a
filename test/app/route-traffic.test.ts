/**
 * Issue 17 items 1 and 2: a route's own `traffic.rate_limit`, `concurrency`, `queue` and `retries`
 * and an OpenAPI operation's `x-luascale-rate-limit` are enforced, in addition to the service's,
 * through the config-to-options mapping (src/app/gateway-options.ts) and a real gateway on port 0.
 * Rate limits run on a ManualClock, so no token refills unless the test moves time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import { gatewayOptions } from '../../src/app/gateway-options.js';
import { importOpenApi } from '../../src/openapi/import-openapi.js';
import type { ImportedApi } from '../../src/openapi/import-openapi.js';
import { echo, request, startGateway, startUpstream } from '../gateway/helpers.js';

const SCALING = `scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }`;

async function gatewayFor(
  yaml: string,
  opts: { upstreams: string[]; apis?: Record<string, ImportedApi>; clock?: ManualClock },
) {
  const config = parseConfig(yaml, '/tmp/luascale.yaml');
  const options = gatewayOptions(config, opts.apis ?? {});
  const { gw, port } = await startGateway({ ...options, clock: opts.clock });
  gw.setInstances(
    'api',
    opts.upstreams.map((url, i) => ({ id: `i${i}`, url })),
  );
  return { gw, port };
}

test('a route rate limit of 5/s lets 5 of 10 through per second with RateLimit-* headers, in addition to the service limit (#17 item 1)', async () => {
  const up = await startUpstream(echo());
  const clock = new ManualClock(1_000_000);
  const { gw, port } = await gatewayFor(
    `services:
  api:
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    traffic: { rate_limit: { rps: 100, key: global } }
    routes:
      - path_prefix: /tenant
        traffic: { rate_limit: { rps: 5, burst: 5, key: "header:x-tenant" } }
      - path_prefix: /
`,
    { upstreams: [up.url], clock },
  );
  try {
    const send = (path: string, tenant = 'a') => request(port, { path, headers: { 'x-tenant': tenant } });
    const rs = [];
    for (let i = 0; i < 10; i++) rs.push(await send('/tenant/x'));
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 200, 200, 200, 200, 429, 429, 429, 429, 429],
    );
    assert.equal(rs[0]!.headers['ratelimit-limit'], '5', 'the tighter (route) quota is reported');
    assert.equal(rs[4]!.headers['ratelimit-remaining'], '0');
    assert.equal(rs[5]!.headers['retry-after'], '1');
    assert.equal(JSON.parse(rs[5]!.body).error.code, 'LS_ERR_GATEWAY_RATE_LIMITED');
    // kept per the route's key: another tenant has its own bucket; other routes only the service's
    assert.equal((await send('/tenant/x', 'b')).status, 200);
    const other = await send('/other');
    assert.equal(other.status, 200);
    assert.equal(other.headers['ratelimit-limit'], '100');
    // one second later, 5 more
    clock.advance(1000);
    const next = [];
    for (let i = 0; i < 6; i++) next.push((await send('/tenant/x')).status);
    assert.deepEqual(next, [200, 200, 200, 200, 200, 429]);
  } finally {
    await gw.close({ graceMs: 0 });
    await up.close();
  }
});

test('a route concurrency limit with no queue sheds its second concurrent request while other routes pass (#17 item 1)', async () => {
  const held: http.ServerResponse[] = [];
  const arrived = new EventEmitter();
  const up = await startUpstream((req, res) => {
    req.resume();
    if (req.url === '/slow') {
      held.push(res);
      arrived.emit('req');
    } else res.end('ok');
  });
  const { gw, port } = await gatewayFor(
    `services:
  api:
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    traffic: { concurrency: { per_instance: 10 } }
    routes:
      - path: /slow
        traffic: { concurrency: { per_instance: 1 }, queue: { max: 0 } }
      - path_prefix: /
`,
    { upstreams: [up.url] },
  );
  try {
    const first = request(port, { path: '/slow' });
    await once(arrived, 'req');
    const second = await request(port, { path: '/slow' });
    assert.equal(second.status, 503);
    assert.equal(JSON.parse(second.body).error.code, 'LS_ERR_GATEWAY_QUEUE_FULL');
    assert.equal((await request(port, { path: '/fast' })).status, 200, 'the service still has room');
    held.shift()!.end('done');
    assert.equal((await first).status, 200);
    const third = request(port, { path: '/slow' });
    await once(arrived, 'req'); // the slot came back: admitted
    held.shift()!.end('done');
    assert.equal((await third).status, 200);
  } finally {
    for (const r of held) r.end();
    await gw.close({ graceMs: 0 });
    await up.close();
  }
});

test('a route with retries.budget_percent 0 does not retry a reset connection; the service default does (#17 item 1)', async () => {
  // every other request has its connection reset before any response byte (retryable for a GET)
  let n = 0;
  const up = await startUpstream((req, res) => {
    if (n++ % 2 === 0) req.socket.destroy();
    else res.end('ok');
  });
  const { gw, port } = await gatewayFor(
    `services:
  api:
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    routes:
      - path: /no-retry
        traffic: { retries: { budget_percent: 0 } }
      - path_prefix: /
`,
    { upstreams: [up.url] },
  );
  try {
    assert.equal((await request(port, { path: '/a' })).status, 200, 'reset, retried, served');
    assert.equal(n, 2);
    assert.equal((await request(port, { path: '/no-retry' })).status, 502, 'reset, not retried');
    assert.equal(n, 3);
  } finally {
    await gw.close({ graceMs: 0 });
    await up.close();
  }
});

test('x-luascale-rate-limit of 2/s on an operation: ten requests, two pass, with RateLimit-* headers (#17 item 2)', async () => {
  const up = await startUpstream(echo());
  const dir = mkdtempSync(join(tmpdir(), 'ls-oas-rl-'));
  const clock = new ManualClock(1_000_000);
  try {
    writeFileSync(
      join(dir, 'api.yaml'),
      `openapi: 3.0.3
info: { title: pets, version: "1" }
x-luascale-rate-limit: { rps: 1000 }
paths:
  /pets:
    get:
      operationId: listPets
      x-luascale-rate-limit: { rps: 2, key: global }
      responses: { "200": { description: ok } }
  /pets/{id}:
    x-luascale-rate-limit: { rps: 3 }
    get:
      responses: { "200": { description: ok } }
`,
    );
    const api = await importOpenApi(join(dir, 'api.yaml'));
    const { gw, port } = await gatewayFor(
      `services:
  api:
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    openapi: ${join(dir, 'api.yaml')}
`,
      { upstreams: [up.url], apis: { api }, clock },
    );
    try {
      const rs = [];
      for (let i = 0; i < 10; i++) rs.push(await request(port, { path: '/pets' }));
      assert.equal(rs.filter((r) => r.status === 200).length, 2);
      assert.equal(rs.filter((r) => r.status === 429).length, 8);
      assert.equal(rs[0]!.headers['ratelimit-limit'], '2');
      assert.equal(rs[1]!.headers['ratelimit-remaining'], '0');
      assert.ok(Number(rs[2]!.headers['retry-after']) >= 1);
      // the path level applies to its operations, per client IP by default
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push((await request(port, { path: `/pets/${i}` })).status);
      assert.deepEqual(ids, [200, 200, 200, 429]);
    } finally {
      await gw.close({ graceMs: 0 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await up.close();
  }
});
