/**
 * Live pools over real sockets: balancing, membership changes under load without lost requests,
 * drain, retries (idempotent only, within budget, on connect errors and on 503 from a draining
 * instance), passive outlier ejection with re-probing, active probes and slow start.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { request, startGateway, startUpstream } from './helpers.js';
import type { GatewayOptions } from '../../src/gateway/gateway.js';
import type { HealthEvent } from '../../src/gateway/upstream-pool.js';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** An upstream answering with its name; `hold` requests wait until released. */
async function named(name: string, opts: { status?: () => number; health?: () => number } = {}) {
  const held: (() => void)[] = [];
  const arrived = new (await import('node:events')).EventEmitter();
  let count = 0;
  const up = await startUpstream((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(opts.health?.() ?? 200);
      return res.end();
    }
    count++;
    const answer = (): void => {
      const st = opts.status?.() ?? 200;
      res.writeHead(st, { 'content-type': 'text/plain' });
      res.end(name);
    };
    if (req.url?.startsWith('/hold')) {
      held.push(answer);
      arrived.emit('held');
    } else answer();
  });
  cleanup.push(() => up.close());
  return {
    up,
    name,
    count: () => count,
    /** Resolves once `n` requests are being held. */
    async waitHeld(n: number) {
      while (held.length < n) await once(arrived, 'held');
    },
    releaseAll() {
      for (const h of held.splice(0)) h();
    },
  };
}

async function gateway(services: GatewayOptions['services']) {
  const g = await startGateway({ services });
  cleanup.push(() => g.gw.close({ graceMs: 50 }));
  return g;
}

async function deadUrl(): Promise<string> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

function nextHealth(
  gw: { events: NodeJS.EventEmitter },
  instance: string,
  status: string,
): Promise<HealthEvent> {
  return new Promise((resolve) => {
    const on = (e: HealthEvent): void => {
      if (e.instance === instance && e.status === status) {
        gw.events.off('health', on);
        resolve(e);
      }
    };
    gw.events.on('health', on);
  });
}

test('requests are spread over every instance of a service', async () => {
  const a = await named('a');
  const b = await named('b');
  const { port } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      instances: [
        { id: 'a', url: a.up.url },
        { id: 'b', url: b.up.url },
      ],
    },
  });
  const rs = await Promise.all(Array.from({ length: 120 }, () => request(port, { path: '/' })));
  for (const r of rs) assert.equal(r.status, 200);
  assert.ok(a.count() > 10 && b.count() > 10, `a=${a.count()} b=${b.count()}`);
});

test('membership changes under load lose no request', async () => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => named(n)));
  const spec = (i: number) => ({ id: ups[i]!.name, url: ups[i]!.up.url });
  const { gw, port } = await gateway({
    s: { routes: [{ path_prefix: '/' }], instances: [spec(0), spec(1)] },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  cleanup.push(async () => agent.destroy());
  const statuses: number[] = [];
  let sent = 0;
  const changes = [
    () => gw.setInstances('s', [spec(1), spec(2)]),
    () => gw.setInstances('s', [spec(2)]),
    () => gw.setInstances('s', [spec(0), spec(2)]),
    () => gw.removeInstance('s', 'c'),
  ];
  async function worker(): Promise<void> {
    while (sent < 400) {
      sent++;
      if (sent % 80 === 0) changes[sent / 80 - 1]?.();
      const st = await new Promise<number>((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          })
          .on('error', () => resolve(-1));
      });
      statuses.push(st);
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.equal(statuses.length, 400);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.deepEqual(
    gw.instances('s').map((i) => i.id),
    ['a'],
  );
});

test('removing an instance lets its in-flight request finish and sends new ones elsewhere', async () => {
  const a = await named('a');
  const b = await named('b');
  const { gw, port } = await gateway({
    s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: a.up.url }] },
  });
  const slow = request(port, { path: '/hold' });
  await a.waitHeld(1);
  gw.addInstance('s', { id: 'b', url: b.up.url });
  gw.removeInstance('s', 'a');
  for (let i = 0; i < 5; i++) assert.equal((await request(port, { path: '/' })).body, 'b');
  a.releaseAll();
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'a');
});

test('drain() waits for in-flight requests, reports done, and new requests avoid the instance', async () => {
  const a = await named('a');
  const b = await named('b');
  const { gw, port } = await gateway({
    s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: a.up.url }] },
  });
  const slow = [request(port, { path: '/hold' }), request(port, { path: '/hold' })];
  await a.waitHeld(2);
  gw.addInstance('s', { id: 'b', url: b.up.url });
  let settled = false;
  const drained = gw.drain('s', 'a', { timeoutMs: 10_000 }).then((r) => {
    settled = true;
    return r;
  });
  for (let i = 0; i < 5; i++) assert.equal((await request(port, { path: '/' })).body, 'b');
  assert.equal(settled, false, 'drain must wait for the two held requests');
  assert.equal(gw.instances('s').find((i) => i.id === 'a')!.state, 'draining');
  a.releaseAll();
  assert.deepEqual(await drained, { drained: true, inflight: 0 });
  for (const r of await Promise.all(slow)) assert.equal(r.body, 'a');
});

test('drain() reports not drained with the in-flight count when the timeout passes first', async () => {
  const a = await named('a');
  const { gw, port } = await gateway({
    s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: a.up.url }] },
  });
  const slow = request(port, { path: '/hold' });
  await a.waitHeld(1);
  assert.deepEqual(await gw.drain('s', 'a', { timeoutMs: 50 }), { drained: false, inflight: 1 });
  a.releaseAll();
  assert.equal((await slow).status, 200);
});

test('idempotent requests are retried on another instance after a connect error; POST with a body is not', async () => {
  const b = await named('b');
  const dead = await deadUrl();
  const { port } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      balancer: { algorithm: 'round-robin' },
      health: { consecutive_errors: 1000 },
      instances: [
        { id: 'dead', url: dead },
        { id: 'b', url: b.up.url },
      ],
    },
  });
  const gets = await Promise.all(Array.from({ length: 6 }, () => request(port, { path: '/' })));
  for (const r of gets) assert.equal(r.status, 200);
  const posts = await Promise.all(
    Array.from({ length: 6 }, () => request(port, { method: 'POST', path: '/', body: 'x' })),
  );
  assert.ok(
    posts.some((r) => r.status === 502),
    'a POST that hit the dead instance fails rather than being replayed',
  );
});

test('retries stop when the budget is spent (budget_percent 0)', async () => {
  const b = await named('b');
  const dead = await deadUrl();
  const { port } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      traffic: { retries: { budget_percent: 0 } },
      balancer: { algorithm: 'round-robin' },
      health: { consecutive_errors: 1000 },
      instances: [
        { id: 'dead', url: dead },
        { id: 'b', url: b.up.url },
      ],
    },
  });
  const rs = await Promise.all(Array.from({ length: 6 }, () => request(port, { path: '/' })));
  assert.equal(rs.filter((r) => r.status === 502).length, 3);
});

test('a 503 from an instance being drained is retried on another instance', async () => {
  const a = await named('a', { status: () => 503 });
  const b = await named('b');
  const { gw, port } = await gateway({
    s: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: a.up.url }] },
  });
  const pending = request(port, { path: '/hold' });
  await a.waitHeld(1);
  gw.addInstance('s', { id: 'b', url: b.up.url });
  const drained = gw.drain('s', 'a', { timeoutMs: 5000 });
  a.releaseAll(); // a answers 503 while draining
  await b.waitHeld(1); // the retry reached b (which holds /hold too)
  b.releaseAll();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b');
  assert.equal((await drained).drained, true);
});

test('passive outlier ejection: consecutive 5xx eject an instance, traffic avoids it, then it is probed again', async () => {
  let failing = true;
  const a = await named('a', { status: () => (failing ? 500 : 200) });
  const b = await named('b');
  const { gw, port } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      balancer: { algorithm: 'round-robin' },
      health: { consecutive_errors: 3, base_ejection: 150 },
      instances: [
        { id: 'a', url: a.up.url },
        { id: 'b', url: b.up.url },
      ],
    },
  });
  const ejected = nextHealth(gw, 'a', 'ejected');
  for (let i = 0; i < 6; i++) await request(port, { path: '/' });
  await ejected;
  const before = a.count();
  for (let i = 0; i < 10; i++) assert.equal((await request(port, { path: '/' })).body, 'b');
  assert.equal(a.count(), before, 'an ejected instance gets no traffic');
  failing = false;
  await nextHealth(gw, 'a', 'probing');
  const healthy = nextHealth(gw, 'a', 'healthy');
  for (let i = 0; i < 4; i++) await request(port, { path: '/' });
  await healthy;
  assert.ok(a.count() > before);
});

test('active probes eject an instance failing its health path and restore it once the path recovers', async () => {
  let healthStatus = 503;
  const a = await named('a', { health: () => healthStatus });
  const b = await named('b');
  const { gw } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      health: {
        path: '/healthz',
        interval: 20,
        timeout: 500,
        unhealthy_threshold: 2,
        healthy_threshold: 1,
        base_ejection: 50,
      },
      instances: [
        { id: 'a', url: a.up.url },
        { id: 'b', url: b.up.url },
      ],
    },
  });
  await nextHealth(gw, 'a', 'ejected');
  healthStatus = 200;
  await nextHealth(gw, 'a', 'healthy');
  assert.equal(gw.instances('s').find((i) => i.id === 'a')!.health, 'healthy');
  assert.equal(gw.instances('s').find((i) => i.id === 'b')!.health, 'healthy');
});

test('slow start: a new instance starts at a reduced weight', async () => {
  const a = await named('a');
  const b = await named('b');
  const { gw, port } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      health: { slow_start: 60_000 },
      instances: [{ id: 'a', url: a.up.url }],
    },
  });
  gw.addInstance('s', { id: 'b', url: b.up.url });
  await request(port, { path: '/' });
  const w = gw.instances('s').find((i) => i.id === 'b')!.weight;
  assert.ok(w < 0.2, `weight ${w}`);
});

test('consistent hashing on a header keeps a client on one instance', async () => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => named(n)));
  const { port } = await gateway({
    s: {
      routes: [{ path_prefix: '/' }],
      balancer: { algorithm: 'consistent-hash', hash_key: 'header:x-user' },
      instances: ups.map((u) => ({ id: u.name, url: u.up.url })),
    },
  });
  const homes = new Set<string>();
  for (let user = 0; user < 12; user++) {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++)
      seen.add((await request(port, { path: '/', headers: { 'x-user': `u${user}` } })).body);
    assert.equal(seen.size, 1, `user ${user} moved between ${[...seen]}`);
    homes.add([...seen][0]!);
  }
  assert.ok(homes.size >= 2, 'different users land on different instances');
});
