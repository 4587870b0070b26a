import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  forwardedElement,
  forwardRequestHeaders,
  forwardResponseHeaders,
  isValidHost,
} from '../../src/gateway/forward-headers.js';

const opts = { trust: false, via: 'luascale', scheme: 'http' } as const;

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}
function get(flat: string[], name: string): string[] {
  return pairs(flat)
    .filter(([k]) => k === name)
    .map(([, v]) => v);
}

test('hop-by-hop fields and those named in Connection are not forwarded (RFC 9110 §7.6.1)', () => {
  const raw = [
    'Host',
    'a.test',
    'Connection',
    'keep-alive, X-Secret',
    'Keep-Alive',
    'timeout=5',
    'TE',
    'trailers',
    'Trailer',
    'X-T',
    'Upgrade',
    'h2c',
    'Proxy-Connection',
    'close',
    'X-Secret',
    's',
    'X-Keep',
    'k',
    'Expect',
    '100-continue',
  ];
  const r = forwardRequestHeaders(raw, '10.0.0.1', '1.1', opts);
  const names = pairs(r.headers).map(([k]) => k);
  for (const gone of [
    'connection',
    'keep-alive',
    'te',
    'trailer',
    'upgrade',
    'proxy-connection',
    'x-secret',
    'expect',
  ]) {
    assert.ok(!names.includes(gone), `${gone} must be dropped`);
  }
  assert.deepEqual(get(r.headers, 'x-keep'), ['k']);
  assert.deepEqual(get(r.headers, 'host'), ['a.test']);
});

test('Via is appended with the protocol version (RFC 9110 §7.6.3)', () => {
  const r = forwardRequestHeaders(['Host', 'a', 'Via', '1.0 fred'], '1.2.3.4', '1.0', opts);
  assert.deepEqual(get(r.headers, 'via'), ['1.0 fred, 1.0 luascale']);
});

test('Via names HTTP/2 as "2"; over TLS, X-Forwarded-Proto and Forwarded say https', () => {
  const r = forwardRequestHeaders(['Host', 'a.test'], '10.0.0.1', '2.0', { ...opts, scheme: 'https' });
  assert.deepEqual(get(r.headers, 'via'), ['2 luascale']);
  assert.deepEqual(get(r.headers, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(get(r.headers, 'forwarded'), ['for=10.0.0.1;host=a.test;proto=https']);
  // the cached element follows the scheme
  const plain = forwardRequestHeaders(['Host', 'a.test'], '10.0.0.1', '1.1', opts);
  assert.deepEqual(get(plain.headers, 'forwarded'), ['for=10.0.0.1;host=a.test;proto=http']);
});

test('untrusted: client-sent forwarding headers are replaced, so a client cannot forge its address', () => {
  const raw = [
    'Host',
    'a.test',
    'X-Forwarded-For',
    '6.6.6.6',
    'Forwarded',
    'for=6.6.6.6',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'evil',
  ];
  const r = forwardRequestHeaders(raw, '10.0.0.1', '1.1', opts);
  assert.deepEqual(get(r.headers, 'x-forwarded-for'), ['10.0.0.1']);
  assert.deepEqual(get(r.headers, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(get(r.headers, 'x-forwarded-host'), ['a.test']);
  assert.deepEqual(get(r.headers, 'forwarded'), ['for=10.0.0.1;host=a.test;proto=http']);
});

test('trusted: forwarding headers are appended to (RFC 7239 §4 list)', () => {
  const raw = [
    'Host',
    'a.test',
    'X-Forwarded-For',
    '1.1.1.1',
    'Forwarded',
    'for=1.1.1.1',
    'X-Forwarded-Proto',
    'https',
  ];
  const r = forwardRequestHeaders(raw, '10.0.0.1', '1.1', { ...opts, trust: true });
  assert.deepEqual(get(r.headers, 'x-forwarded-for'), ['1.1.1.1, 10.0.0.1']);
  assert.deepEqual(get(r.headers, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(get(r.headers, 'forwarded'), ['for=1.1.1.1, for=10.0.0.1;host=a.test;proto=http']);
});

test('Forwarded quotes IPv6 nodes and hosts with ports (RFC 7239 §4, §6)', () => {
  assert.equal(forwardedElement('::1', 'a.test:8080'), 'for="[::1]";host="a.test:8080";proto=http');
});

test('Host must appear exactly once with a valid value (RFC 9112 §3.2)', () => {
  assert.equal(forwardRequestHeaders(['Host', 'a', 'Host', 'b'], '1.1.1.1', '1.1', opts).host, undefined);
  assert.equal(forwardRequestHeaders([], '1.1.1.1', '1.1', opts).host, undefined);
  assert.equal(forwardRequestHeaders(['Host', 'a b'], '1.1.1.1', '1.1', opts).host, undefined);
  assert.equal(forwardRequestHeaders(['Host', 'a.test:80'], '1.1.1.1', '1.1', opts).host, 'a.test:80');
  for (const bad of ['a/b', 'a b', 'a:port', '', 'a@b:1:2', '[::1'])
    assert.equal(isValidHost(bad), false, bad);
  for (const good of ['a', 'a.b-c.d', '127.0.0.1:8080', '[::1]:80', 'xn--nxasmq6b'])
    assert.equal(isValidHost(good), true, good);
});

test('X-Request-Id is propagated when well-formed and dropped when not', () => {
  assert.equal(
    forwardRequestHeaders(['Host', 'a', 'X-Request-Id', 'abc-123'], '1', '1.1', opts).requestId,
    'abc-123',
  );
  const bad = forwardRequestHeaders(['Host', 'a', 'X-Request-Id', 'has space'], '1', '1.1', opts);
  assert.equal(bad.requestId, undefined);
  assert.deepEqual(get(bad.headers, 'x-request-id'), []);
});

test('content-length and transfer-encoding are reported; transfer-encoding is not forwarded (re-framed per hop)', () => {
  const r = forwardRequestHeaders(['Host', 'a', 'Transfer-Encoding', 'chunked'], '1', '1.1', opts);
  assert.equal(r.chunked, true);
  assert.deepEqual(get(r.headers, 'transfer-encoding'), []);
  const c = forwardRequestHeaders(['Host', 'a', 'Content-Length', '12'], '1', '1.1', opts);
  assert.equal(c.contentLength, '12');
  assert.deepEqual(get(c.headers, 'content-length'), ['12']);
});

test('response: hop-by-hop dropped, Via appended, request id echoed unless the upstream set one', () => {
  const b = (s: string) => Buffer.from(s);
  const raw = [
    b('Content-Type'),
    b('text/plain'),
    b('Connection'),
    b('close, X-Hop'),
    b('X-Hop'),
    b('1'),
    b('Transfer-Encoding'),
    b('chunked'),
    b('Keep-Alive'),
    b('timeout=5'),
    b('Via'),
    b('1.1 upstream'),
  ];
  const out = forwardResponseHeaders(raw, 'rid', 'luascale');
  assert.deepEqual(pairs(out), [
    ['content-type', 'text/plain'],
    ['via', '1.1 upstream, 1.1 luascale'],
    ['x-request-id', 'rid'],
  ]);
  const own = forwardResponseHeaders([b('X-Request-Id'), b('theirs')], 'rid', 'luascale');
  assert.deepEqual(get(own, 'x-request-id'), ['theirs']);
  // RFC 9110 §7.6.3: the received-protocol is the version the response came in.
  assert.deepEqual(get(forwardResponseHeaders([], 'rid', 'luascale', '2.0'), 'via'), ['2 luascale']);
});
