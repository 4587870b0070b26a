/**
 * The route stage and the upgrade proxy match a request path in its RFC 3986 §6.2.2 normal form
 * (src/core/normalise-path.ts). Before, `/open/../secret` matched the open prefix and
 * reached the instance as written: an instance that resolves dot segments (most frameworks, any
 * file server) served the key-protected /secret without a key, over HTTP and over an upgrade.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import type net from 'node:net';
import type { KeyVerifier } from '../../src/gateway/gateway.js';
import { normalisePath, normalisePercent, removeDotSegments } from '../../src/core/normalise-path.js';
import { echo, raw, request, startGateway, startUpstream } from './helpers.js';

test('normalisePercent: upper-case hex, unreserved characters decoded, the rest kept; bad % and %00 refused', () => {
  assert.equal(normalisePercent('/files/a%2fb%2F'), '/files/a%2Fb%2F');
  assert.equal(normalisePercent('/%7euser/%41%2d%2E%5f%7E'), '/~user/A-._~');
  assert.equal(normalisePercent('/caf%c3%a9/%3f%23%25%20'), '/caf%C3%A9/%3F%23%25%20');
  assert.equal(normalisePercent('/plain'), '/plain');
  for (const bad of ['/a%', '/a%2', '/a%zz', '/a%g0', '/a%00b'])
    assert.equal(normalisePercent(bad), undefined, bad);
});

test('removeDotSegments (RFC 3986 §5.2.4) and normalisePath', () => {
  for (const [input, out] of [
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/../a', '/a'],
    ['/..', '/'],
    ['/a/..b/.c', '/a/..b/.c'],
    ['/a//../b', '/a/b'],
  ])
    assert.equal(removeDotSegments(input!), out, input);
  assert.deepEqual(normalisePath('/x/%2E%2e/admin'), { path: '/admin', dotSegments: true });
  assert.deepEqual(normalisePath('/x/a%2f..'), { path: '/x/a%2F..', dotSegments: false }); // one segment
  assert.deepEqual(normalisePath('/a//b/'), { path: '/a//b/', dotSegments: false });
  assert.ok('refused' in normalisePath('/a%00'));
});

test('/open/../secret is routed, authenticated and forwarded as /secret (HTTP and upgrade)', async () => {
  const up = await startUpstream(echo());
  const upgraded: string[] = [];
  up.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    upgraded.push(req.url!);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
  });
  const keys: KeyVerifier = {
    verify: (key) => Promise.resolve(key === 'good' ? { consumer: 'alice', keyId: 'k1' } : undefined),
  };
  const { gw, port } = await startGateway({
    keys,
    services: { api: { routes: [{ path_prefix: '/open' }, { path_prefix: '/secret', auth: 'key' }] } },
  });
  gw.setInstances('api', [{ id: 'a', url: up.url }]);
  try {
    for (const path of ['/open/../secret/x', '/open/%2e%2E/secret/x', '/open/./../secret/x?q=1']) {
      const r = await request(port, { path });
      assert.equal(r.status, 401, `${path}: ${r.body}`);
      const ok = await request(port, { path, headers: { 'x-api-key': 'good' } });
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).url, path.endsWith('?q=1') ? '/secret/x?q=1' : '/secret/x');
    }
    // Lower-case and upper-case encodings reach the same route; the bytes sent on are the client's.
    const lower = await request(port, { path: '/open/a%2fb%7e' });
    assert.equal(JSON.parse(lower.body).url, '/open/a%2fb%7e');
    // The same over an upgrade: refused without a key, and never forwarded.
    const head = (path: string) =>
      raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n`, {
        endAfterWrite: false,
      });
    assert.match(await head('/open/../secret/ws'), /^HTTP\/1\.1 401/);
    assert.match(await head('/open/a%zz'), /^HTTP\/1\.1 400 .*[\s\S]*malformed percent-encoding/);
    assert.deepEqual(upgraded, []);
  } finally {
    await gw.close({ graceMs: 100 });
    await up.close();
  }
});
