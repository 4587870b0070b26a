/** What the proxy reports to signals and the access log, over real sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echo, request, startGateway, startUpstream } from './helpers.js';
import type { AccessLogEntry, SignalsLike } from '../../src/gateway/seams.js';

function recorder() {
  const calls: string[] = [];
  const ends: Parameters<SignalsLike['onEnd']>[0][] = [];
  const signals: SignalsLike = {
    onStart: (route, service) => calls.push(`start ${service} ${route}`),
    onDispatch: (service, instance) => calls.push(`dispatch ${service} ${instance}`),
    onEnd: (e) => {
      calls.push(`end ${e.service} ${e.route} ${e.status}`);
      ends.push(e);
    },
    onShed: (route, service, reason) => calls.push(`shed ${service} ${route} ${reason}`),
  };
  return { calls, ends, signals };
}

test('each routed request is reported as start, then exactly one of end (with status and bytes) or shed', async () => {
  const up = await startUpstream(echo());
  const { calls, ends, signals } = recorder();
  const logs: AccessLogEntry[] = [];
  const { gw, port } = await startGateway({
    signals,
    accessLog: { log: (e) => logs.push(e) },
    services: {
      api: {
        routes: [{ path: '/users/{id}', operationId: 'getUser' }, { path_prefix: '/' }],
        traffic: { max_body: 10, rate_limit: { rps: 1, burst: 2, key: 'header:x-client' } },
        instances: [{ id: 'u1', url: up.url }],
      },
    },
  });
  try {
    const ok = await request(port, { path: '/users/42?x=1', headers: { 'x-client': 'c1' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(calls.splice(0), [
      'start api /users/{id}',
      'dispatch api u1',
      'end api /users/{id} 200',
    ]);
    assert.equal(ends[0]!.operationId, 'getUser');
    assert.equal(ends[0]!.instance, 'u1');
    assert.equal(ends[0]!.bytesOut, Buffer.byteLength(ok.body));
    assert.equal(logs[0]!.route, '/users/{id}');
    assert.equal(logs[0]!.path, '/users/42?x=1');
    assert.equal(logs[0]!.upstream, 'u1');
    assert.equal(logs[0]!.status, 200);
    assert.equal(logs[0]!.requestId, ok.headers['x-request-id']);

    const big = await request(port, {
      method: 'POST',
      path: '/upload',
      body: 'x'.repeat(50),
      headers: { 'x-client': 'c2' },
    });
    assert.equal(big.status, 413);
    assert.deepEqual(calls.splice(0), ['start api /*', 'shed api /* body_too_large']);

    // burst 2 for client c3: the third request in a row is rate limited
    for (let i = 0; i < 2; i++)
      assert.equal((await request(port, { path: '/a', headers: { 'x-client': 'c3' } })).status, 200);
    calls.length = 0;
    const limited = await request(port, { path: '/a', headers: { 'x-client': 'c3' } });
    assert.equal(limited.status, 429);
    assert.ok(limited.headers['retry-after']);
    assert.deepEqual(calls.splice(0), ['start api /*', 'shed api /* rate_limit']);
    assert.equal(JSON.parse(limited.body).error.code, 'LS_ERR_GATEWAY_RATE_LIMITED');
  } finally {
    await gw.close({ graceMs: 50 });
    await up.close();
  }
});

test('admitted responses carry the RateLimit-* headers from admission', async () => {
  const up = await startUpstream(echo());
  const { gw, port } = await startGateway({
    services: {
      api: {
        routes: [{ path_prefix: '/' }],
        traffic: { rate_limit: { rps: 100, burst: 100 } },
        instances: [{ id: 'u1', url: up.url }],
      },
    },
  });
  try {
    const r = await request(port, { path: '/' });
    assert.equal(r.status, 200);
    assert.ok(
      Object.keys(r.headers).some((h) => h.startsWith('ratelimit')),
      JSON.stringify(r.headers),
    );
  } finally {
    await gw.close({ graceMs: 50 });
    await up.close();
  }
});
