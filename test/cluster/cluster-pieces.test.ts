import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/core/clock.js';
import { isLuascaleError } from '../../src/core/errors.js';
import type { Instance, Provider } from '../../src/controller/provider.js';
import { createLeaderLease } from '../../src/cluster/leader-lease.js';
import { fencedProvider } from '../../src/cluster/fenced-provider.js';
import { publishInstances, subscribeInstances } from '../../src/cluster/instance-registry.js';
import { createClusterSignals, publishSignals } from '../../src/cluster/cluster-signals.js';
import { createSignals } from '../../src/gateway/signals/signals.js';
import type { InstanceSpec } from '../../src/gateway/upstream-pool.js';
import { startRedis, type TestRedis } from './redis-server.js';

let server: TestRedis;
let redis: Redis;
let sub: Redis;
let n = 0;

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { lazyConnect: true });
  sub = new Redis(server.url, { lazyConnect: true });
  await Promise.all([redis.connect(), sub.connect()]);
});

after(async () => {
  redis.disconnect();
  sub.disconnect();
  await server.stop();
});

function fakeProvider(instances: Instance[] = []): Provider & { launches: number } {
  const ee = new EventEmitter();
  const p = {
    kind: 'fake',
    service: 'api',
    advisory: false,
    launches: 0,
    list: () => instances,
    async launch() {
      p.launches++;
      const i: Instance = {
        id: `i${p.launches}`,
        service: 'api',
        url: 'http://127.0.0.1:1',
        state: 'ready',
        startedAt: 0,
      };
      instances.push(i);
      return i;
    },
    drain: async () => {},
    stop: async () => {},
    close: async () => {},
    on(e: string, l: (...a: unknown[]) => void) {
      ee.on(e, l);
      return () => ee.off(e, l);
    },
  };
  return p as unknown as Provider & { launches: number };
}

test('one lease, one holder: the second candidate sees the first as holder', async () => {
  const key = `lease${++n}`;
  const clock = new ManualClock(0);
  const a = createLeaderLease({ redis, key, id: 'a', clock, ttlMs: 5000 });
  const b = createLeaderLease({ redis, key, id: 'b', clock, ttlMs: 5000 });
  assert.equal(await a.step(), true);
  assert.equal(await b.step(), false);
  assert.equal(b.holder, `a#${a.fence}`);
  assert.ok(a.fence! > 1_000_000_000_000, 'fencing counter seeded from Redis TIME in µs');
  await a.close();
  assert.equal(await redis.exists(key), 0, 'released on close');
  assert.equal(await b.step(), true);
  await b.close();
});

test('a deposed leader (paused past its TTL) is refused by the fenced provider; the new one acts', async () => {
  const key = `lease${++n}`;
  const clockA = new ManualClock(0); // A's clock does not move: it was paused and believes it still leads
  const a = createLeaderLease({ redis, key, id: 'a', clock: clockA, ttlMs: 5000 });
  const b = createLeaderLease({ redis, key, id: 'b', clock: new ManualClock(0), ttlMs: 5000 });
  await a.step();
  const fenceA = a.fence!;
  await redis.del(key); // the TTL ran out in Redis while A was paused
  assert.equal(await b.step(), true);
  assert.ok(b.fence! > fenceA, 'fencing tokens only grow');
  const pa = fakeProvider();
  const pb = fakeProvider();
  const fa = fencedProvider(pa, a);
  assert.equal(fa.advisory, false, 'A still believes it leads before asking Redis');
  await assert.rejects(
    fa.launch(),
    (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_LAUNCH') && /not the cluster leader/.test(err.message),
  );
  assert.equal(pa.launches, 0, 'no launch from the stale leader');
  assert.equal(fa.advisory, true, 'and it knows it is a follower now');
  await fencedProvider(pb, b).launch();
  assert.equal(pb.launches, 1);
  await Promise.all([a.close(), b.close()]);
});

test('a leader cut off from Redis stops acting when its local validity (0.9 × TTL) runs out', async () => {
  const clock = new ManualClock(0);
  const a = createLeaderLease({ redis, key: `lease${++n}`, id: 'a', clock, ttlMs: 1000 });
  await a.step();
  clock.advance(899);
  assert.equal(a.isHeld(), true);
  clock.advance(1);
  assert.equal(a.isHeld(), false);
  assert.equal(fencedProvider(fakeProvider(), a).advisory, true, 'followers hold their scale');
  await a.close();
});

test('fencing tokens keep growing after Redis loses its data', async () => {
  const key = `lease${++n}`;
  const a = createLeaderLease({ redis, key, id: 'a', clock: new ManualClock(0) });
  await a.step();
  const before = a.fence!;
  await redis.del(key, `${key}:fence`); // what a restart without persistence does
  assert.equal(await a.step(), false, 'the renewal finds the key gone: a follower again');
  assert.equal(await a.step(), true);
  assert.ok(a.fence! > before, `${a.fence} > ${before}`);
  await a.close();
});

test('the registry: followers get the leader set, keep it when Redis lost it, and a deposed leader cannot write', async () => {
  const prefix = `reg${++n}:`;
  const leaseKey = `${prefix}leader`;
  const clock = new ManualClock(0);
  const a = createLeaderLease({ redis, key: leaseKey, id: 'a', clock });
  await a.step();
  const inst: Instance[] = [
    { id: 'x1', service: 'api', url: 'http://127.0.0.1:1001', state: 'ready', startedAt: 0 },
    { id: 'x2', service: 'api', url: 'http://127.0.0.1:1002', state: 'starting', startedAt: 0 },
  ];
  const pub = publishInstances({
    redis,
    prefix,
    service: 'api',
    provider: fakeProvider(inst),
    lease: a,
    leaseKey,
    intervalMs: 60_000,
  });
  const seen: InstanceSpec[][] = [];
  let notify: () => void = () => {};
  const s = subscribeInstances('api', (l) => (seen.push(l), notify()), {
    redis,
    subscriber: sub,
    prefix,
    reconcileMs: 60_000,
  });
  const got = new Promise<void>((r) => (notify = r));
  assert.equal(await pub.publish(), true);
  await got;
  assert.deepEqual(seen.at(-1), [{ id: 'x1', url: 'http://127.0.0.1:1001' }], 'ready instances only');
  await redis.del(`${prefix}inst:api`, `${prefix}inst:api:v`);
  await s.refresh();
  assert.equal(seen.length, 1, 'no empty set pushed after data loss');
  assert.deepEqual(s.current(), [{ id: 'x1', url: 'http://127.0.0.1:1001' }]);
  await redis.set(leaseKey, 'b#999999999999999');
  assert.equal(await pub.publish(), false, 'fenced write refused');
  pub.close();
  s.close();
  await a.close();
});

test('signals of two gateways merge by adding histograms, not by averaging percentiles', async () => {
  const prefix = `sig${++n}:`;
  const T0 = 1_800_000_000_000;
  const clock = new ManualClock(T0);
  const gws = ['g1', 'g2'].map((id) => {
    const signals = createSignals(clock);
    const p = publishSignals({ redis, prefix, gatewayId: id, signals, clock, intervalMs: 60_000 });
    p.close();
    return { signals, p };
  });
  clock.advance(100);
  for (let i = 1; i <= 100; i++) {
    // g1: 1..100 ms; g2: 1000 ms each
    for (const [j, ms] of [
      [0, i],
      [1, 1000],
    ] as const) {
      gws[j]!.signals.onStart('/', 'api');
      gws[j]!.signals.onEnd({
        route: '/',
        service: 'api',
        instance: 'i',
        status: i <= 5 && j === 1 ? 500 : 200,
        latencyMs: ms,
        bytesIn: 0,
        bytesOut: 0,
      });
    }
  }
  clock.advance(1000);
  for (const g of gws) assert.equal(await g.p.publish(clock.now()), 1);
  const reader = createClusterSignals({ redis, prefix, clock, refreshMs: 60_000 });
  reader.close();
  assert.equal(await reader.refresh(clock.now()), true);
  const snap = reader.snapshot('api', clock.now(), 1);
  assert.equal(snap.gateways, 2);
  assert.equal(snap.rps, 200);
  assert.equal(snap.completed_rps, 200);
  assert.equal(snap.error_rate, 5 / 200);
  // the merged distribution: half at 1..100 ms, half at 1000 ms
  assert.ok(Math.abs(snap.latency!.p50 - 100) <= 1, `p50 ${snap.latency!.p50}`);
  assert.ok(Math.abs(snap.latency!.p95 - 1000) <= 10, `p95 ${snap.latency!.p95}`);
  // an average of the two gateways' p95s would say (95 + 1000) / 2 ≈ 548
  for (const g of gws) g.signals.close();
});
