/**
 * `trusted_proxies`: CIDR matching (IPv4, IPv6, IPv4-mapped) and the client address behind trusted
 * hops, as nginx's real_ip_recursive picks it (right-most untrusted X-Forwarded-For entry).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { parseCidr } from '../../src/core/cidr.js';
import { addressOf, clientAddress, createTrustedProxies } from '../../src/gateway/trusted-proxies.js';
import { request, startGateway, startUpstream } from './helpers.js';

const trusted = createTrustedProxies(['127.0.0.0/8', '10.0.0.0/8', 'fd00::/8', '2001:db8::1'])!;
const xff = (v: string) => ({ xForwardedFor: v, forwarded: undefined });

test('parseCidr: IPv4 and IPv6 subnets and bare addresses; anything else is refused', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  assert.deepEqual(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  assert.deepEqual(parseCidr('192.0.2.1'), { address: '192.0.2.1', prefix: 32, family: 'ipv4' });
  assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  for (const bad of [
    '10.0.0.0/33',
    '::/129',
    '10.0.0/8',
    'localhost',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '1.2.3.4/-1',
  ])
    assert.equal(parseCidr(bad), undefined, bad);
  assert.throws(() => createTrustedProxies(['10.0.0.0/8', 'nope']), /trusted_proxies: "nope" must be/);
  assert.equal(createTrustedProxies([]), undefined);
});

test('trusts: subnet membership for IPv4, IPv6 and IPv4-mapped IPv6', () => {
  assert.equal(trusted.trusts('127.0.0.1'), true);
  assert.equal(trusted.trusts('10.200.3.4'), true);
  assert.equal(trusted.trusts('11.0.0.1'), false);
  assert.equal(trusted.trusts('fd12:3456::1'), true);
  assert.equal(trusted.trusts('fe80::1'), false);
  assert.equal(trusted.trusts('2001:db8::1'), true);
  assert.equal(trusted.trusts('2001:db8::2'), false);
  assert.equal(trusted.trusts('::ffff:10.1.2.3'), true);
  assert.equal(trusted.trusts('garbage'), false);
  assert.equal(trusted.trusts(''), false);
});

test('clientAddress: the right-most X-Forwarded-For entry that is not trusted', () => {
  assert.equal(clientAddress('127.0.0.1', xff('203.0.113.9'), trusted), '203.0.113.9');
  // a client may forge entries on the left; only the hops trusted proxies added count
  assert.equal(clientAddress('127.0.0.1', xff('1.1.1.1, 203.0.113.9, 10.0.0.5'), trusted), '203.0.113.9');
  assert.equal(clientAddress('127.0.0.1', xff('198.51.100.2,10.1.1.1 , 10.0.0.7'), trusted), '198.51.100.2');
  // every hop trusted: the left-most one
  assert.equal(clientAddress('127.0.0.1', xff('10.0.0.1, 10.0.0.2'), trusted), '10.0.0.1');
  // ports and brackets are not part of the address
  assert.equal(clientAddress('127.0.0.1', xff('203.0.113.9:5555'), trusted), '203.0.113.9');
  assert.equal(clientAddress('127.0.0.1', xff('[2001:db8::9]:443'), trusted), '2001:db8::9');
  assert.equal(clientAddress('127.0.0.1', xff('2001:db8::9'), trusted), '2001:db8::9');
  // an entry that is no address stops the walk at the last trusted hop
  assert.equal(clientAddress('127.0.0.1', xff('203.0.113.9, unknown'), trusted), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', xff('unknown, 10.0.0.3'), trusted), '10.0.0.3');
  // no header: the peer
  assert.equal(
    clientAddress('127.0.0.1', { xForwardedFor: undefined, forwarded: undefined }, trusted),
    '127.0.0.1',
  );
});

test('clientAddress: Forwarded for= (RFC 7239) when there is no X-Forwarded-For', () => {
  const fwd = (v: string) => ({ xForwardedFor: undefined, forwarded: v });
  assert.equal(
    clientAddress('10.0.0.1', fwd('for=192.0.2.60;proto=http;by=203.0.113.43'), trusted),
    '192.0.2.60',
  );
  assert.equal(
    clientAddress('10.0.0.1', fwd('for="[2001:db8:cafe::17]:4711", For=10.0.0.9;host=x'), trusted),
    '2001:db8:cafe::17',
  );
  assert.equal(clientAddress('10.0.0.1', fwd('for=_hidden, for=10.0.0.9'), trusted), '10.0.0.9');
  assert.equal(clientAddress('10.0.0.1', fwd('proto=https'), trusted), '10.0.0.1');
  // X-Forwarded-For wins when both are present
  assert.equal(
    clientAddress('10.0.0.1', { xForwardedFor: '198.51.100.1', forwarded: 'for=192.0.2.60' }, trusted),
    '198.51.100.1',
  );
});

test('addressOf: IPv4-mapped IPv6 reads as IPv4, quoted values are unquoted', () => {
  assert.equal(addressOf(' ::ffff:203.0.113.9 '), '203.0.113.9');
  assert.equal(addressOf('"192.0.2.1"'), '192.0.2.1');
  assert.equal(addressOf('[::1'), undefined);
  assert.equal(addressOf(''), undefined);
});

test('gateway: consistent hashing on ip and the upgrade handshake use the forwarded client', async () => {
  const hits = new Map<string, number>();
  const ups = await Promise.all(
    ['a', 'b'].map((id) =>
      startUpstream((req, res) => {
        hits.set(id, (hits.get(id) ?? 0) + 1);
        res.end(String(req.headers['x-forwarded-for']));
      }),
    ),
  );
  let upgradeXff: string | undefined;
  ups[0]!.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    upgradeXff = String(req.headers['x-forwarded-for']);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
  });
  const { gw, port } = await startGateway({
    trusted_proxies: ['127.0.0.1'],
    services: {
      web: {
        routes: [{ path_prefix: '/' }],
        balancer: { algorithm: 'consistent-hash', hash_key: 'ip' },
        instances: ups.map((u, i) => ({ id: 'ab'[i]!, url: u.url })),
      },
    },
  });
  try {
    for (let i = 1; i <= 24; i++) {
      const r = await request(port, { path: '/', headers: { 'x-forwarded-for': `198.51.100.${i}` } });
      assert.equal(r.body, `198.51.100.${i}, 127.0.0.1`);
    }
    // 24 clients behind one proxy spread over both instances (one key would pin them to one)
    assert.ok((hits.get('a') ?? 0) > 0 && (hits.get('b') ?? 0) > 0, JSON.stringify([...hits]));
    // the same client sticks to its instance
    const before = new Map(hits);
    for (let i = 0; i < 4; i++)
      await request(port, { path: '/', headers: { 'x-forwarded-for': '198.51.100.1' } });
    const moved = [...hits].filter(([k, v]) => v !== (before.get(k) ?? 0));
    assert.equal(moved.length, 1, 'one instance took all four');
    assert.equal(moved[0]![1] - (before.get(moved[0]![0]) ?? 0), 4);

    gw.setInstances('web', [{ id: 'a', url: ups[0]!.url }]);
    const sock = net.connect(port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(
      'GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: x\r\nConnection: Upgrade\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n',
    );
    sock.resume();
    await once(sock, 'end');
    assert.equal(upgradeXff, '203.0.113.9, 127.0.0.1');
  } finally {
    await gw.close({ graceMs: 100 });
    await Promise.all(ups.map((u) => u.close()));
  }
});
