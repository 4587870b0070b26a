/**
 * Random request shapes over raw sockets (fast-check): whatever arrives, the gateway answers with
 * a well-formed status line or closes, never crashes, and keeps serving normal requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { echo, request, startGateway, startUpstream } from './helpers.js';

/** Sends `data`, half-closes, and collects the reply; a 3 s bound keeps a stuck case from hanging the suite. */
function exchange(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const bound = setTimeout(() => sock.destroy(), 3000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(bound);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.end(data);
  });
}

const token = fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'BREW', 'G ET', '');
const target = fc.oneof(
  fc.constantFrom('/', '/a', '/a/b?c=d', '*', 'http://x/y', '//', '/%00', '/a b', ''),
  fc.string({ maxLength: 30 }).map((s) => '/' + s),
);
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'HTTX/1.1', '');
const headerName = fc.constantFrom(
  'Host',
  'Content-Length',
  'Transfer-Encoding',
  'Connection',
  'Expect',
  'Upgrade',
  'X-Request-Id',
  'X-Forwarded-For',
  'Forwarded',
  'TE',
  'Via',
  'Cookie',
  'X\x00Bad',
  ' Leading',
  'Trailing ',
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'a',
    '0',
    '5',
    '-1',
    '99999999999999999999',
    'chunked',
    'gzip, chunked',
    'close',
    'keep-alive, X-Foo',
    '100-continue',
    'websocket',
    'a\rb',
    '',
    ' ',
  ),
  fc.string({ maxLength: 40 }),
);
const requestShape = fc.record({
  method: token,
  target,
  version,
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
  withHost: fc.boolean(),
  body: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }), fc.constant('5\r\nhello\r\n0\r\n\r\n')),
  lineEnd: fc.constantFrom('\r\n', '\n'),
});

test('random request shapes never crash the gateway nor produce a malformed reply', async () => {
  const up = await startUpstream(echo());
  const { gw, port } = await startGateway({
    request_timeout: 300,
    headers_timeout: 300,
    keep_alive_timeout: 100,
    services: {
      s: {
        routes: [{ path_prefix: '/' }],
        traffic: { max_body: 1000 },
        instances: [{ id: 'u', url: up.url }],
      },
    },
  });
  try {
    await fc.assert(
      fc.asyncProperty(requestShape, async (r) => {
        const head = [`${r.method} ${r.target} ${r.version}`.trimEnd()];
        if (r.withHost) head.push('Host: fuzz.test');
        for (const [k, v] of r.headers) head.push(`${k}: ${v}`);
        const reply = await exchange(port, head.join(r.lineEnd) + r.lineEnd + r.lineEnd + r.body);
        if (reply.length > 0)
          assert.match(reply, /^HTTP\/1\.1 [1-5]\d\d /, JSON.stringify(reply.slice(0, 80)));
      }),
      { numRuns: 150, seed: 20261128 },
    );
    const ok = await request(port, { path: '/still-alive' });
    assert.equal(ok.status, 200);
  } finally {
    await gw.close({ graceMs: 50 });
    await up.close();
  }
});
