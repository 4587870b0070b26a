/**
 * Issue 17 item 5: slow uploads held concurrency slots for the whole request timeout, because
 * admission happened before the body arrived. Bodies up to `request_buffer` are now read whole
 * first: two clients trickling their uploads into a 2-slot service leave the slots to others, are
 * not in flight or queued meanwhile (no demand for scale-out), and are served once their bodies are in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { GatewayOptions } from '../../src/gateway/gateway.js';
import { echo, request, startGateway, startUpstream } from './helpers.js';

/** Starts an upload of `size` bytes, sends the first `first` bytes, and returns a way to finish it. */
function slowUpload(port: number, size: number, first: number) {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/upload',
    headers: { 'content-type': 'application/octet-stream', 'content-length': size },
    agent: false,
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
  });
  req.write(Buffer.alloc(first, 97));
  return { finish: () => req.end(Buffer.alloc(size - first, 98)), response };
}

async function setup(traffic: NonNullable<GatewayOptions['services'][string]['traffic']>) {
  const up = await startUpstream(echo());
  const { gw, port } = await startGateway({
    services: { api: { routes: [{ path_prefix: '/' }], traffic, instances: [{ id: 'u1', url: up.url }] } },
  });
  return { gw, port, up };
}

test('two slow uploads on a 2-slot service hold no slot: other clients are served (#17 item 5)', async () => {
  const s = await setup({ concurrency: { per_instance: 2 }, queue: { max: 10, timeoutMs: 2000 } });
  try {
    const arrived = once(s.gw.server, 'request');
    const a = slowUpload(s.port, 20_000, 2048); // 2 KB now, the rest later (a 2 KB/s client)
    await arrived;
    const arrived2 = once(s.gw.server, 'request');
    const b = slowUpload(s.port, 20_000, 2048);
    await arrived2; // the gateway has both heads: before the fix both were admitted here
    const stats = s.gw.admissionStats('api');
    assert.equal(stats.inflight, 0, 'uploads in progress hold no slot');
    assert.equal(stats.queue, 0, 'and are not queueing demand');
    for (let i = 0; i < 4; i++) {
      const r = await request(s.port, { path: '/other' });
      assert.equal(r.status, 200, r.body);
    }
    a.finish();
    b.finish();
    const [ra, rb] = await Promise.all([a.response, b.response]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    assert.equal(JSON.parse(ra.body).bytes, 20_000, 'the whole body reached the instance');
    assert.equal(JSON.parse(rb.body).headers['content-length'], '20000');
  } finally {
    await s.gw.close({ graceMs: 0 });
    await s.up.close();
  }
});

test('request_buffer 0 streams the body: the slow upload takes its slot at once (the old behaviour, opt-in)', async () => {
  const s = await setup({ concurrency: { per_instance: 1 }, request_buffer: 0 });
  try {
    const arrived = once(s.gw.server, 'request');
    const a = slowUpload(s.port, 4096, 1024);
    await arrived;
    assert.equal(s.gw.admissionStats('api').inflight, 1);
    a.finish();
    assert.equal((await a.response).status, 200);
  } finally {
    await s.gw.close({ graceMs: 0 });
    await s.up.close();
  }
});

test('a chunked upload larger than request_buffer streams on with what was read, and max_body still applies', async () => {
  const s = await setup({ request_buffer: 1024, max_body: 3000 });
  try {
    const post = (size: number) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: s.port, method: 'POST', path: '/c', agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
          },
        );
        req.on('error', reject);
        for (let i = 0; i < size; i += 500) req.write(Buffer.alloc(Math.min(500, size - i), 99));
        req.end();
      });
    const ok = await post(2500);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).bytes, 2500);
    const big = await post(4000);
    assert.equal(big.status, 413);
  } finally {
    await s.gw.close({ graceMs: 0 });
    await s.up.close();
  }
});
