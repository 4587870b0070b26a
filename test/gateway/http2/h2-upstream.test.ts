/**
 * The HTTP/2 upstream client (h2-upstream.ts) against an h2c instance that resets a stream with
 * NO_ERROR before sending any response head (an instance going away mid-request): node ends the
 * client stream without a 'response'. That must fail the call, never complete it: undici's
 * request() (the gRPC health probe's) read a response that did not exist and threw an uncaught
 * TypeError, which would take the gateway process down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { H2Upstream } from '../../../src/gateway/http2/h2-upstream.js';
import { grpcHealthCheck } from '../../../src/gateway/grpc/grpc-health.js';

test('a stream reset with NO_ERROR before any response head fails the call (request() and the gRPC probe)', async () => {
  const server = http2.createServer();
  let streams = 0;
  server.on('stream', (stream) => {
    streams++;
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const up = new H2Upstream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    connectTimeout: 2000,
  });
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    await assert.rejects(up.request({ method: 'GET', path: '/' }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UND_ERR_SOCKET');
      assert.match(err.message, /without a response/);
      return true;
    });
    assert.equal(await grpcHealthCheck(up, 2000).catch(() => false), false);
    // an uncaught error would surface on a later turn of the event loop
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(uncaught, []);
    assert.equal(streams, 2);
  } finally {
    process.off('uncaughtException', onUncaught);
    await up.destroy();
    server.close();
  }
});

test('a grpc-timeout longer than a timer can hold (99999999H) is not a deadline of 1 ms', async () => {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    // an instance that takes a little while: node fires an overflowing timer after 1 ms
    setTimeout(() => {
      if (stream.closed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    }, 30);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const up = new H2Upstream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    connectTimeout: 2000,
  });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    for (const timeout of ['99999999H', '99999999S', '2147484m']) {
      const res = await up.request({
        method: 'POST',
        path: '/demo.Echo/Unary',
        headers: { 'content-type': 'application/grpc', 'grpc-timeout': timeout },
        body: Buffer.from([0, 0, 0, 0, 0]),
      });
      await res.body.arrayBuffer();
      assert.equal(res.trailers['grpc-status'], '0', `grpc-timeout ${timeout}`);
    }
    // and a deadline within a timer's range is still enforced
    const res = await up.request({
      method: 'POST',
      path: '/demo.Echo/Unary',
      headers: { 'content-type': 'application/grpc', 'grpc-timeout': '1m' },
      body: Buffer.from([0, 0, 0, 0, 0]),
    });
    await res.body.arrayBuffer();
    assert.equal(res.trailers['grpc-status'], '4');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await up.destroy();
    server.close();
  }
});

test('a session whose stream IDs are used up is replaced: calls go on over a new one, open ones finish', async () => {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => sessions.push(s));
  let held: http2.ServerHttp2Stream | undefined;
  server.on('stream', (stream, headers) => {
    if (headers[':path'] === '/held')
      held = stream; // answered later, after the session is replaced
    else stream.respond({ ':status': 200 }, { endStream: true });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // 3 streams per session stand for node's 2^30 (ERR_HTTP2_OUT_OF_STREAMS, session left open)
  const up = new H2Upstream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    connectTimeout: 2000,
    maxStreamsPerSession: 3,
  });
  try {
    const get = async (path: string) => (await up.request({ method: 'GET', path })).statusCode;
    assert.equal(await get('/a'), 200);
    const late = up.request({ method: 'GET', path: '/held' });
    while (held === undefined) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await get('/b'), 200);
    assert.equal(sessions.length, 1);
    assert.equal(await get('/c'), 200); // the 4th stream: a new session
    assert.equal(await get('/d'), 200);
    assert.equal(sessions.length, 2);
    held.respond({ ':status': 204 }, { endStream: true });
    assert.equal((await late).statusCode, 204); // the first session let its open stream finish
  } finally {
    await up.destroy();
    server.close();
  }
});
