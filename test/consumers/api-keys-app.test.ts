/**
 * Issue 19, consumers and API keys, end to end: `luascale keys create` against a running app (real
 * sockets, port 0) prints a key once; a service with `auth: key` takes it as Bearer or x-api-key and
 * the upstream never sees it; no key, a wrong key and a revoked key get 401; the store keeps only a
 * hash; `rate_limit.key: consumer` counts per consumer (two keys of one consumer share a bucket);
 * a consumer's own `limits.rps` applies across services; an upgrade cannot skip the key check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import { echo, raw, request, startUpstream } from '../gateway/helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { startRedisOrSkip } from '../cluster/redis-server.js';

const SCALING = `scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }`;

test('keys create/list/revoke through the CLI; auth: key with Bearer and x-api-key; 401s; hash only; limits per consumer', async () => {
  const up = await startUpstream(echo());
  const dir = mkdtempSync(join(tmpdir(), 'ls-keys-'));
  const yaml = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
consumers:
  alice: { metadata: { team: a } }
  bob: {}
  carol: { limits: { rps: 0.01, burst: 1 } }
services:
  api:
    auth: key
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    routes:
      - path_prefix: /api
      - path: /api/public
        auth: none
  limited:
    auth: key
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    routes: [{ path_prefix: /limited }]
    traffic: { rate_limit: { rps: 0.01, burst: 2, key: consumer } }
  open:
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
    routes: [{ path_prefix: /open }]
`;
  const app = await startApp({
    config: parseConfig(yaml, join(dir, 'luascale.yaml')),
    file: join(dir, 'luascale.yaml'),
    baseDir: dir,
  });
  const port = Number(new URL(app.gatewayUrl).port);
  const admin = ['--admin', app.adminUrl];
  const create = async (consumer: string) => {
    const r = await runCli('keys', 'create', '--consumer', consumer, ...admin);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^lsk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/, 'the key alone on stdout');
    assert.match(r.stderr, /cannot be shown again/);
    return r.stdout.trim();
  };
  const get = (path: string, headers: Record<string, string> = {}) => request(port, { path, headers });
  const seen = (r: { body: string }) =>
    JSON.parse(r.body) as { headers: Record<string, string>; rawHeaders: string[] };
  let key = '';
  let id = '';
  try {
    key = await create('alice');
    id = key.slice(4, 20);

    // Bearer, and x-api-key: through, and the upstream never sees the key (nor the header it came in)
    const bearer = await get('/api/x', { authorization: `Bearer ${key}` });
    assert.equal(bearer.status, 200, bearer.body);
    assert.equal(seen(bearer).headers.authorization, undefined);
    assert.ok(!bearer.body.includes(key.slice(21)), 'no part of the secret reaches the upstream');
    const xkey = await get('/api/x', { 'x-api-key': key, authorization: 'Bearer upstream-token' });
    assert.equal(xkey.status, 200, xkey.body);
    assert.equal(seen(xkey).headers['x-api-key'], undefined);
    assert.equal(
      seen(xkey).headers.authorization,
      'Bearer upstream-token',
      "the client's own Authorization passes",
    );
    assert.ok(!xkey.body.includes(key.slice(21)));

    // without, wrong, malformed: 401 in the gateway's error shape with WWW-Authenticate
    const wrong = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${wrong}` },
      { 'x-api-key': 'nope' },
      { authorization: `Basic ${key}` },
    ];
    for (const headers of refused) {
      const r = await get('/api/x', headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(JSON.parse(r.body).error.code, 'LS_ERR_GATEWAY_UNAUTHENTICATED');
      assert.equal(r.headers['www-authenticate'], 'Bearer');
    }
    // auth: none on a route of a keyed service, and a service without auth: no key needed
    assert.equal((await get('/api/public')).status, 200);
    assert.equal((await get('/open/x')).status, 200);
    // an upgrade cannot go around the check
    const upgrade = await raw(
      port,
      'GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.match(upgrade, /^HTTP\/1\.1 401 /);
    assert.match(upgrade, /LS_ERR_GATEWAY_UNAUTHENTICATED/);

    // an unknown consumer: the API's 404, exit 1, no key printed
    const none = await runCli('keys', 'create', '--consumer', 'mallory', ...admin);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /LS_ERR_ADMIN_NO_CONSUMER/);
    assert.equal(none.stdout, '');

    // list: ids and consumers, never a key
    const list = await runCli('keys', 'list', '--json', ...admin);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout);
    assert.deepEqual(
      listed.map((k: { id: string; consumer: string; revokedAt: unknown }) => [
        k.id,
        k.consumer,
        k.revokedAt,
      ]),
      [[id, 'alice', null]],
    );
    assert.ok(!list.stdout.includes(key.slice(21)));
    const table = await runCli('keys', 'list', ...admin);
    assert.match(table.stdout, new RegExp(`^ID +CONSUMER +CREATED +REVOKED\\n${id} +alice +\\d{4}-`));

    // rate_limit.key: consumer: two keys of alice share one bucket of 2; bob has his own
    const key2 = await create('alice');
    const bobKey = await create('bob');
    const limited = (k: string) => get('/limited/x', { 'x-api-key': k });
    assert.equal((await limited(key)).status, 200);
    assert.equal((await limited(key2)).status, 200);
    const third = await limited(key);
    assert.equal(third.status, 429, 'the consumer’s third request in the burst, whichever key');
    assert.equal((await limited(key2)).status, 429);
    assert.equal((await limited(bobKey)).status, 200, 'another consumer: another bucket');

    // a consumer's own limits.rps (burst 1) holds over every keyed service
    const carol = await create('carol');
    assert.equal((await get('/api/x', { 'x-api-key': carol })).status, 200);
    const over = await get('/limited/x', { 'x-api-key': carol });
    assert.equal(over.status, 429);
    assert.equal(JSON.parse(over.body).error.code, 'LS_ERR_GATEWAY_RATE_LIMITED');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal(over.headers['ratelimit-limit'], '1');

    // the consumers with their metadata, limits and valid keys (admin API)
    const consumers = JSON.parse(
      (await request(Number(new URL(app.adminUrl).port), { path: '/v1/consumers' })).body,
    );
    assert.deepEqual(consumers, {
      consumers: [
        { name: 'alice', metadata: { team: 'a' }, limits: null, activeKeys: 2 },
        { name: 'bob', metadata: {}, limits: null, activeKeys: 1 },
        { name: 'carol', metadata: {}, limits: { rps: 0.01, burst: 1 }, activeKeys: 1 },
      ],
    });

    // revoke: the key stops working at once; the other key of alice still works
    const revoked = await runCli('keys', 'revoke', id, ...admin);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked ${id}`));
    const after = await get('/api/x', { authorization: `Bearer ${key}` });
    assert.equal(after.status, 401);
    assert.equal((await get('/api/x', { authorization: `Bearer ${key2}` })).status, 200);
    const again = await runCli('keys', 'list', '--json', ...admin);
    assert.equal(
      typeof JSON.parse(again.stdout).find((k: { id: string }) => k.id === id).revokedAt,
      'number',
    );
    const unknown = await runCli('keys', 'revoke', '0123456789abcdef', ...admin);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /LS_ERR_ADMIN_NO_KEY/);
  } finally {
    await app.close({ graceMs: 500 });
    up.server.close();
  }
  try {
    // the store (read once the app has released its file) holds hashes, never a key
    const db = new Database(join(dir, 's.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM api_keys').all() as Array<Record<string, unknown>>;
    db.close();
    assert.equal(rows.length, 4, 'alice twice, bob, carol');
    const row = rows.find((r) => r.id === id)!;
    assert.equal(row.hash, createHash('sha256').update(key).digest('hex'));
    assert.equal(typeof row.revoked_at, 'number');
    assert.ok(!JSON.stringify(rows).includes(key.slice(21)), 'no part of the secret is stored');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auth: key with gateway.workers > 1 and no store.redis is refused at load, naming the line', () => {
  const yaml = `gateway: { workers: 2 }
consumers: { alice: {} }
services:
  api:
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
    auth: key
`;
  assert.throws(
    () => parseConfig(yaml, '/tmp/luascale.yaml'),
    (err: Error) =>
      /luascale\.yaml:6 services\.api\.auth: auth: key with gateway\.workers > 1 needs store\.redis/.test(
        err.message,
      ),
  );
  assert.doesNotThrow(() => parseConfig(yaml.replace('workers: 2', 'workers: 1'), '/tmp/luascale.yaml'));
  assert.doesNotThrow(() =>
    parseConfig(
      yaml.replace('consumers:', 'store: { redis: "redis://127.0.0.1:1" }\nconsumers:'),
      '/tmp/luascale.yaml',
    ),
  );
});

test(
  'store.redis + workers: 2: a key created through the admin API is checked by the workers; revoked, refused',
  { timeout: 60_000 },
  async (t) => {
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const up = await startUpstream(echo());
    const dir = mkdtempSync(join(tmpdir(), 'ls-keys-w-'));
    const yaml = `
gateway: { listen: "127.0.0.1:0", access_log: "off", workers: 2 }
admin: { listen: "127.0.0.1:0" }
store: { redis: "${redis.url}", sqlite: "${dir}/local.db" }
consumers: { alice: {} }
services:
  api:
    auth: key
    provider: { static: { targets: ["${up.url}"] } }
    ${SCALING}
`;
    const app = await startApp({
      config: parseConfig(yaml, join(dir, 'luascale.yaml')),
      file: join(dir, 'luascale.yaml'),
      baseDir: dir,
    });
    try {
      assert.equal(app.gatewayPids().length, 2);
      const port = Number(new URL(app.gatewayUrl).port);
      const created = await runCli('keys', 'create', '--consumer', 'alice', '--admin', app.adminUrl);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.trim();
      // the static target reaches the workers through the registry: wait for the first 200
      let status = 0;
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = (await request(port, { path: '/x', headers: { 'x-api-key': key } })).status;
        if (status !== 200) await new Promise((r) => setImmediate(r));
      }
      assert.equal(status, 200);
      // several requests, so both workers answer: each checks the key in Redis
      for (let i = 0; i < 6; i++)
        assert.equal(
          (await request(port, { path: '/x', headers: { authorization: `Bearer ${key}` } })).status,
          200,
        );
      assert.equal((await request(port, { path: '/x' })).status, 401);
      const revoked = await runCli('keys', 'revoke', key.slice(4, 20), '--admin', app.adminUrl);
      assert.equal(revoked.code, 0, revoked.stderr);
      for (let i = 0; i < 6; i++)
        assert.equal((await request(port, { path: '/x', headers: { 'x-api-key': key } })).status, 401);
    } finally {
      await app.close({ graceMs: 500 });
      up.server.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
