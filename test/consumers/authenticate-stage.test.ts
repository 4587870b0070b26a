/**
 * The authenticate stage on its own gateway (port 0), with a stub verifier: a route without `auth`
 * never calls it (no work when auth is off); a verifier that answers later (as Redis does) works,
 * and one that fails answers 502 without reaching the upstream; the upstream sees no key header;
 * a gateway with `auth: key` and no verifier refuses to start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway, type KeyVerifier } from '../../src/gateway/gateway.js';
import { echo, raw, request, startGateway, startUpstream } from '../gateway/helpers.js';

test('auth off costs no verifier call; a later (promise) verifier and a failing one; the key is stripped', async () => {
  const up = await startUpstream(echo());
  let hits = 0;
  up.server.on('request', () => hits++);
  const calls: string[] = [];
  const keys: KeyVerifier = {
    verify(key) {
      calls.push(key);
      if (key === 'boom') return Promise.reject(new Error('store down'));
      return Promise.resolve(key === 'good' ? { consumer: 'alice', keyId: 'k1' } : undefined);
    },
  };
  const { gw, port } = await startGateway({
    keys,
    services: {
      open: { routes: [{ path_prefix: '/open' }, { path_prefix: '/open/secret', auth: 'key' }] },
      closed: { auth: 'key', routes: [{ path_prefix: '/closed' }, { path: '/closed/free', auth: 'none' }] },
    },
  });
  gw.setInstances('open', [{ id: 'o', url: up.url }]);
  gw.setInstances('closed', [{ id: 'c', url: up.url }]);
  try {
    for (let i = 0; i < 5; i++) assert.equal((await request(port, { path: '/open/x' })).status, 200);
    assert.equal((await request(port, { path: '/closed/free' })).status, 200);
    assert.deepEqual(calls, [], 'routes without auth never reach the verifier');
    // a route of an open service can ask for a key on its own
    assert.equal((await request(port, { path: '/open/secret/x' })).status, 401);
    assert.equal(
      (await request(port, { path: '/open/secret/x', headers: { 'x-api-key': 'good' } })).status,
      200,
    );
    calls.length = 0;

    const ok = await request(port, { path: '/closed/x', headers: { authorization: 'Bearer good' } });
    assert.equal(ok.status, 200);
    assert.ok(
      !JSON.parse(ok.body).rawHeaders.some((h: string) => /^authorization$/i.test(h)),
      'the Authorization header that carried the key is not forwarded',
    );
    const before = hits;
    const bad = await request(port, { path: '/closed/x', headers: { 'x-api-key': 'bad' } });
    assert.equal(bad.status, 401);
    const failed = await request(port, { path: '/closed/x', headers: { 'x-api-key': 'boom' } });
    assert.equal(failed.status, 502);
    assert.match(failed.body, /key check failed: store down/);
    assert.equal(hits, before, 'neither reached the upstream');
    assert.deepEqual(calls, ['good', 'bad', 'boom']);
    // the same key in x-api-key and as Bearer (a careless client): neither header goes upstream,
    // while a different Authorization (the client's own, for the upstream) still does
    const both = await request(port, {
      path: '/closed/x',
      headers: { 'x-api-key': 'good', authorization: 'bearer good' },
    });
    assert.equal(both.status, 200);
    assert.ok(
      !JSON.parse(both.body).rawHeaders.some((h: string) => /^(authorization|x-api-key)$/i.test(h)),
      'no header carrying the key is forwarded',
    );
    const own = await request(port, {
      path: '/closed/x',
      headers: { 'x-api-key': 'good', authorization: 'Bearer upstream-token' },
    });
    assert.equal(JSON.parse(own.body).headers.authorization, 'Bearer upstream-token');
  } finally {
    await gw.close({ graceMs: 0 });
    up.server.close();
  }
});

test('auth: key without a verifier: the gateway refuses to start (fail closed)', () => {
  assert.throws(
    () => createGateway({ services: { api: { auth: 'key', routes: [{ path_prefix: '/' }] } } }),
    /service "api": auth: key needs an API key verifier/,
  );
});

test("an upgrade on a keyed route is held to the consumer's own limit (429), like a plain request", async () => {
  const up = await startUpstream(echo());
  let hits = 0;
  up.server.on('upgrade', (_req, socket) => {
    hits++;
    socket.destroy();
  });
  const denied = { ok: false, limit: 1, remaining: 0, resetS: 7, retryAfterS: 7 };
  const keys: KeyVerifier = {
    verify: (key) => (key === 'good' ? { consumer: 'carol', keyId: 'k1' } : undefined),
    limiterOf: () => ({ take: () => denied }),
  };
  const { gw, port } = await startGateway({
    keys,
    services: { ws: { auth: 'key', routes: [{ path_prefix: '/ws' }] } },
  });
  gw.setInstances('ws', [{ id: 'w', url: up.url }]);
  try {
    const plain = await request(port, { path: '/ws/x', headers: { 'x-api-key': 'good' } });
    assert.equal(plain.status, 429);
    const upgrade = await raw(
      port,
      'GET /ws/x HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: good\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.match(upgrade, /^HTTP\/1\.1 429 /);
    assert.match(upgrade, /retry-after: 7/i);
    assert.match(upgrade, /LS_ERR_GATEWAY_RATE_LIMITED/);
    assert.equal(hits, 0, 'the upgrade never reached the upstream');
  } finally {
    await gw.close({ graceMs: 0 });
    up.server.close();
  }
});
