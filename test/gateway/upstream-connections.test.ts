/**
 * `upstream.connections` is the most a request may occupy of an instance, and requests beyond it
 * wait in admission's queue (counted, bounded, deadline-aware) rather than inside undici's pool,
 * where no queue metric or policy sees them (issue 17 item 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createAdmission } from '../../src/gateway/admission/admission.js';
import type { ServiceOptions } from '../../src/gateway/gateway.js';
import { startGateway, startUpstream, type Upstream } from './helpers.js';

/** An upstream that holds every request until `release()`, and counts how many it holds at once. */
async function holdingUpstream(): Promise<{
  up: Upstream;
  peak: () => number;
  held: (n: number) => Promise<void>;
  release: () => void;
}> {
  let open: http.ServerResponse[] = [];
  let peak = 0;
  let releasing = false;
  let want: { n: number; resolve: () => void } | undefined;
  const up = await startUpstream((_req, res) => {
    if (releasing) return void res.end('ok');
    open.push(res);
    peak = Math.max(peak, open.length);
    res.on('close', () => (open = open.filter((r) => r !== res)));
    if (want && open.length >= want.n) want.resolve();
  });
  return {
    up,
    peak: () => peak,
    held: (n) => (open.length >= n ? Promise.resolve() : new Promise((resolve) => (want = { n, resolve }))),
    release() {
      releasing = true;
      for (const r of open) r.end('ok');
    },
  };
}

function get(port: number, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/** A gateway whose admission reports its queue depth; resolves `depth(n)` once it was reached. */
async function gateway(svc: Omit<ServiceOptions, 'routes'>) {
  let want: { n: number; resolve: () => void } | undefined;
  let depth = 0;
  const g = await startGateway({
    services: { web: { routes: [{ path_prefix: '/' }], ...svc } },
    admission: (traffic, clock) =>
      createAdmission(traffic, clock, {
        onQueue: (d) => {
          depth = d;
          if (want && d >= want.n) want.resolve();
        },
      }),
  });
  return {
    ...g,
    depth: (n: number) =>
      depth >= n ? Promise.resolve() : new Promise<void>((resolve) => (want = { n, resolve })),
  };
}

test(
  'connections: 2 — the third request and later wait in the admission queue, seen as queue depth',
  { timeout: 10_000 },
  async () => {
    const h = await holdingUpstream();
    const { gw, port, depth } = await gateway({
      upstream: { connections: 2 },
      instances: [{ id: 'u1', url: h.up.url }],
    });
    try {
      // no concurrency limit configured: the connections are the per-instance limit
      assert.equal(gw.admissionStats('web').limit, 2);
      const answers = Promise.all([1, 2, 3, 4, 5].map(() => get(port)));
      await h.held(2);
      await depth(3);
      assert.deepEqual(
        { queue: gw.admissionStats('web').queue, inflight: gw.admissionStats('web').inflight },
        { queue: 3, inflight: 2 },
      );
      h.release();
      assert.deepEqual(await answers, [200, 200, 200, 200, 200]);
      assert.equal(h.peak(), 2, 'never more than two requests (connections) at the instance');
    } finally {
      await gw.close({ graceMs: 100 });
      await h.up.close();
    }
  },
);

test('connections below concurrency.per_instance lower the admission limit to them', async () => {
  const h = await holdingUpstream();
  const { gw } = await gateway({
    traffic: { concurrency: { per_instance: 10 } },
    upstream: { connections: 3 },
    instances: [
      { id: 'u1', url: h.up.url },
      { id: 'u2', url: 'http://127.0.0.1:9' },
    ],
  });
  try {
    assert.equal(gw.admissionStats('web').limit, 6);
  } finally {
    await gw.close({ graceMs: 100 });
    await h.up.close();
  }
});

test(
  'without upstream.connections, a per_instance above 64 gets as many connections (no hidden cap)',
  { timeout: 10_000 },
  async () => {
    const h = await holdingUpstream();
    const { gw, port } = await gateway({
      traffic: { concurrency: { per_instance: 70 } },
      instances: [{ id: 'u1', url: h.up.url }],
    });
    try {
      assert.equal(gw.admissionStats('web').limit, 70);
      const answers = Promise.all(Array.from({ length: 70 }, () => get(port)));
      await h.held(70); // with undici's former 64, six would wait in the pool and this never resolves
      assert.equal(gw.admissionStats('web').queue, 0);
      h.release();
      assert.ok((await answers).every((s) => s === 200));
    } finally {
      await gw.close({ graceMs: 100 });
      await h.up.close();
    }
  },
);

test(
  'an instance with every connection busy is passed over for one with room (sticky hashing too)',
  { timeout: 10_000 },
  async () => {
    const a = await holdingUpstream();
    const b = await holdingUpstream();
    const { gw, port } = await gateway({
      upstream: { connections: 1 },
      balancer: { algorithm: 'consistent-hash', hash_key: 'header:x-user' },
      instances: [
        { id: 'a', url: a.up.url },
        { id: 'b', url: b.up.url },
      ],
    });
    try {
      // the same key hashes to one instance; its one connection is busy, so the second goes to the other
      const answers = Promise.all([get(port, { 'x-user': 'u1' }), get(port, { 'x-user': 'u1' })]);
      await a.held(1);
      await b.held(1);
      a.release();
      b.release();
      assert.deepEqual(await answers, [200, 200]);
    } finally {
      await gw.close({ graceMs: 100 });
      await a.up.close();
      await b.up.close();
    }
  },
);
