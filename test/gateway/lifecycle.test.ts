/** Graceful close, SIGTERM on a real child process, and `workers: 2` sharing one listener. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { echo, request, startGateway, startUpstream } from './helpers.js';
import { startGateway as startHandle } from '../../src/gateway/start-gateway.js';

/** An upstream whose /hold requests wait for release(). */
async function holdingUpstream() {
  const held: (() => void)[] = [];
  const arrived = new (await import('node:events')).EventEmitter();
  const e = echo();
  const up = await startUpstream((req, res) => {
    if (req.url === '/hold') {
      held.push(() => e(req, res));
      arrived.emit('held');
    } else e(req, res);
  });
  return {
    up,
    async waitHeld(n: number) {
      while (held.length < n) await once(arrived, 'held');
    },
    release() {
      for (const h of held.splice(0)) h();
    },
  };
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

test('close({ graceMs }) stops accepting, finishes in-flight requests, then resolves', async () => {
  const h = await holdingUpstream();
  const { gw, port } = await startGateway({
    services: { s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'u', url: h.up.url }] } },
  });
  const inflight = request(port, { path: '/hold' });
  await h.waitHeld(1);
  let closed = false;
  const closing = gw.close({ graceMs: 10_000 }).then(() => (closed = true));
  assert.equal(await connectRefused(port), true, 'no new connections once closing');
  assert.equal(closed, false, 'close waits for the in-flight request');
  h.release();
  const r = await inflight;
  assert.equal(r.status, 200);
  await closing;
  await h.up.close();
});

test('close({ graceMs }) cuts requests still running when the grace period ends', async () => {
  const h = await holdingUpstream();
  const { gw, port } = await startGateway({
    services: { s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'u', url: h.up.url }] } },
  });
  const inflight = request(port, { path: '/hold' }).then(
    () => 'answered',
    () => 'cut',
  );
  await h.waitHeld(1);
  await gw.close({ graceMs: 30 });
  assert.equal(await inflight, 'cut');
  h.release();
  await h.up.close();
});

test('SIGTERM: the process stops accepting, finishes the in-flight request and exits 0', async () => {
  const h = await holdingUpstream();
  const fixture = fileURLToPath(new URL('./fixtures/sigterm-gateway.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, h.up.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const { port } = JSON.parse((await lines.next()).value as string) as { port: number };
    const inflight = request(port, { path: '/hold' });
    await h.waitHeld(1);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    assert.equal((await lines.next()).value, 'closing');
    assert.equal(await connectRefused(port), true);
    h.release();
    assert.equal((await inflight).status, 200);
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
  } finally {
    child.kill('SIGKILL');
    await h.up.close();
  }
});

test('workers: 2 share one listener; membership and drain reach every worker', async () => {
  const a = await startUpstream((_req, res) => res.end('a'));
  const b = await startUpstream((_req, res) => res.end('b'));
  const handle = await startHandle({
    listen: { port: 0 },
    workers: 2,
    services: { s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: a.url }] } },
  });
  try {
    const pids = handle.pids();
    assert.equal(pids.length, 2);
    assert.ok(!pids.includes(process.pid));
    const first = await Promise.all(Array.from({ length: 20 }, () => request(handle.port, { path: '/' })));
    assert.deepEqual([...new Set(first.map((r) => r.body))], ['a']);
    await handle.setInstances('s', [{ id: 'b', url: b.url }]); // resolves once both workers applied it
    const bodies = (
      await Promise.all(Array.from({ length: 20 }, () => request(handle.port, { path: '/' })))
    ).map((r) => r.body);
    assert.deepEqual([...new Set(bodies)], ['b']);
    assert.deepEqual(await handle.drain('s', 'b', { timeoutMs: 1000 }), { drained: true, inflight: 0 });
  } finally {
    await handle.close({ graceMs: 100 });
    await a.close();
    await b.close();
  }
});

test('divideTraffic() gives each of N workers ceil(1/N) of the limits, so the cluster enforces the configured totals', async () => {
  const { divideTraffic } = await import('../../src/gateway/start-gateway.js');
  const t = {
    rate_limit: { rps: 100, burst: 15, key: 'ip' },
    concurrency: { per_instance: 5 },
    queue: { max: 9, timeoutMs: 1000 },
    timeouts: { response: 100 },
  };
  assert.deepEqual(divideTraffic(t, 2), {
    rate_limit: { rps: 50, burst: 8, key: 'ip' },
    concurrency: { per_instance: 3 },
    queue: { max: 5, timeoutMs: 1000 },
    timeouts: { response: 100 },
  });
  assert.equal(divideTraffic(t, 1), t);
  assert.equal(divideTraffic(undefined, 4), undefined);
});
