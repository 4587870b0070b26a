/**
 * gRPC through the gateway with @grpc/grpc-js as client and servers (h2c both sides): every call is
 * balanced on its own, so one client connection spreads over every instance, and an instance added
 * under load gets its share at once; trailers and statuses pass; grpc-timeout is enforced by the
 * gateway; a rate-limited call is RESOURCE_EXHAUSTED.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { frontOf } from '../../../src/gateway/http2/front-of.js';
import { startGateway } from '../helpers.js';
import { EchoClient, startEchoServer, unary, type EchoServer } from './grpc-fixtures.js';

describe('gRPC proxying with per-call balancing', () => {
  let servers: EchoServer[];
  let gw: Gateway;
  let port: number;
  let client: grpc.Client;
  const events: { kind: string; status: number }[] = [];

  before(async () => {
    servers = await Promise.all(['a', 'b', 'c', 'd'].map(startEchoServer));
    ({ gw, port } = await startGateway({
      http2: {},
      signals: {
        onStart() {},
        onShed: () => events.push({ kind: 'shed', status: 0 }),
        onEnd: (e) => events.push({ kind: 'end', status: e.status }),
      },
      services: {
        echo: {
          routes: [
            { path_prefix: '/demo.Echo' },
            { path: '/demo.Echo/Limited', traffic: { rate_limit: { rps: 0.001, burst: 1 } } },
          ],
          balancer: { algorithm: 'round-robin' },
          upstream: { protocol: 'h2c' },
          instances: servers.slice(0, 3).map((s) => ({ id: s.name, url: s.url })),
        },
      },
    }));
    client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await gw.close({ graceMs: 200 });
    await Promise.all(servers.map((s) => s.close()));
  });

  it('spreads calls of one client connection evenly over 3 instances, and a 4th added under load takes its share at once', async () => {
    const byName = async (n: number, concurrency: number): Promise<string[]> => {
      const out: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < n) {
            const r = await unary(client, 'Unary');
            assert.equal(r.error, undefined);
            out.push(r.reply!.toString());
          }
        }),
      );
      return out;
    };
    const first = await byName(600, 20);
    for (const name of ['a', 'b', 'c']) {
      const share = first.filter((x) => x === name).length / first.length;
      assert.ok(Math.abs(share - 1 / 3) <= 0.1 / 3, `${name}: ${share}`);
    }
    assert.equal(frontOf(gw.server)!.sessions.size, 1, 'one client connection');

    // Under load (calls in flight), scale 3 → 4; the calls issued after that, on the same connection.
    const load = byName(200, 10);
    await new Promise((r) => setTimeout(r, 20)); // lets the load start: not a synchronisation point
    const added = performance.now();
    let firstD = Infinity;
    servers[3]!.onCall = () => (firstD = Math.min(firstD, performance.now()));
    const servedAt = servers.map((x) => x.served.Unary ?? 0);
    gw.addInstance('echo', { id: 'd', url: servers[3]!.url });
    await byName(400, 20);
    await load;
    assert.ok(firstD - added < 2000, `first call on the new instance after ${firstD - added} ms`);
    // of every call dispatched after the 4th was added (the load's and the later ones), a quarter
    const deltas = servers.map((x, i) => (x.served.Unary ?? 0) - servedAt[i]!);
    const share = deltas[3]! / deltas.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(share - 0.25) <= 0.025, `d's share ${share} (${deltas.join(', ')})`);
    assert.equal(frontOf(gw.server)!.sessions.size, 1, 'still one client connection');
  });

  it('keeps a unary error status, its message and trailing metadata', async () => {
    const r = await unary(client, 'Fail');
    assert.equal(r.error?.code, grpc.status.NOT_FOUND);
    assert.equal(r.error?.details, 'no such thing: é');
    assert.deepEqual(r.error?.metadata.get('x-why'), ['testing']);
  });

  it('bidirectional streaming: messages both ways while the call is open, then OK with trailers', async () => {
    const call = (client as unknown as { Bidi: () => grpc.ClientDuplexStream<Buffer, Buffer> }).Bidi();
    const got: string[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (let i = 0; i < 5; i++) {
      call.write(Buffer.from(`m${i}`));
      // each reply arrives before the next message is sent: the body streams both ways at once
      const reply = await new Promise<Buffer>((resolve) => call.once('data', resolve));
      got.push(reply.toString().split(':')[1]!);
    }
    call.end();
    const s = await status;
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(s.code, grpc.status.OK);
    assert.ok(s.metadata.get('x-count').length === 1);
  });

  it('enforces grpc-timeout itself: DEADLINE_EXCEEDED, and the upstream call is cancelled', async () => {
    // A raw HTTP/2 client that does not time out on its own: only the gateway can end the call.
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const cancelledBefore = servers.reduce((n, s) => n + s.cancelled, 0);
    const t0 = performance.now();
    const stream = session.request({
      ':method': 'POST',
      ':path': '/demo.Echo/Slow',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '200m',
    });
    stream.end(Buffer.from([0, 0, 0, 0, 2, 104, 105]));
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
      stream.on('trailers', resolve);
      stream.on('response', (h, flags) => {
        if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) resolve(h);
      });
      stream.resume();
    });
    const took = performance.now() - t0;
    session.close();
    assert.equal(trailers['grpc-status'], '4');
    assert.ok(took >= 190 && took < 1500, `took ${took} ms`);
    await new Promise((r) => setTimeout(r, 100)); // the cancel travels to the instance
    assert.equal(
      servers.reduce((n, s) => n + s.cancelled, 0),
      cancelledBefore + 1,
    );
    // and through grpc-js, whose own deadline agrees
    const r = await unary(client, 'Slow', { deadline: Date.now() + 200 });
    assert.equal(r.error?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  it('answers a rate-limited call RESOURCE_EXHAUSTED (trailers-only), counted as shed', async () => {
    const shedBefore = events.filter((e) => e.kind === 'shed').length;
    assert.equal((await unary(client, 'Limited')).error, undefined);
    const r = await unary(client, 'Limited');
    assert.equal(r.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(r.error!.details, /LS_ERR_GATEWAY_RATE_LIMITED/);
    assert.equal(events.filter((e) => e.kind === 'shed').length, shedBefore + 1);
  });

  it('records a failed call as an error status in the signals (NOT_FOUND as 404, DEADLINE_EXCEEDED as 504)', () => {
    const statuses = new Set(events.filter((e) => e.kind === 'end').map((e) => e.status));
    assert.ok(statuses.has(200) && statuses.has(404) && statuses.has(504), [...statuses].join(','));
  });
});
