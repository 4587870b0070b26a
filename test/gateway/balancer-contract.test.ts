/** The shared contract every Balancer implementation runs, plus each one's specific behaviour. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer, type BalancerOptions, type Endpoint } from '../../src/gateway/balancer.js';
import { updatePeakEwma } from '../../src/gateway/peak-ewma.js';

function endpoints(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({ id: `e${i}`, inflight: 0, ewmaMs: 0, ewmaAt: 0, weight: 1 }));
}

/** A seeded PRNG (mulberry32) so contract runs are reproducible. */
function seeded(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const kinds: BalancerOptions[] = [
  { algorithm: 'p2c-ewma' },
  { algorithm: 'round-robin' },
  { algorithm: 'consistent-hash' },
];

for (const opts of kinds) {
  const name = opts.algorithm!;
  test(`${name}: pick() returns undefined for an empty pool`, () => {
    const b = createBalancer(opts, seeded(1));
    b.update([]);
    assert.equal(b.pick([], { now: 0, hashKey: 'k' }), undefined);
  });

  test(`${name}: pick() only returns members of the given list`, () => {
    const b = createBalancer(opts, seeded(2));
    const eps = endpoints(5);
    b.update(eps);
    for (let i = 0; i < 200; i++) assert.ok(eps.includes(b.pick(eps, { now: i, hashKey: `k${i}` })!));
  });

  test(`${name}: with equal load every endpoint gets a share of many keys`, () => {
    const b = createBalancer(opts, seeded(3));
    const eps = endpoints(4);
    b.update(eps);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const ep = b.pick(eps, { now: i, hashKey: `client-${i}` })!;
      counts.set(ep.id, (counts.get(ep.id) ?? 0) + 1);
    }
    assert.equal(counts.size, 4);
    for (const c of counts.values())
      assert.ok(c > 4000 / 4 / 2, `share ${c} too small: ${[...counts.values()]}`);
  });

  test(`${name}: pick() avoids the excluded endpoint when another exists (retries go elsewhere)`, () => {
    const b = createBalancer(opts, seeded(4));
    const eps = endpoints(3);
    b.update(eps);
    for (let i = 0; i < 300; i++) {
      const first = b.pick(eps, { now: i, hashKey: `k${i}` })!;
      assert.notEqual(b.pick(eps, { now: i, hashKey: `k${i}` }, first), first);
    }
  });

  test(`${name}: a single endpoint is always picked, even when excluded`, () => {
    const b = createBalancer(opts, seeded(5));
    const eps = endpoints(1);
    b.update(eps);
    assert.equal(b.pick(eps, { now: 0, hashKey: 'x' }, eps[0]), eps[0]);
  });

  test(`${name}: membership changes are picked up`, () => {
    const b = createBalancer(opts, seeded(6));
    const eps = endpoints(3);
    b.update(eps);
    const fewer = eps.slice(0, 2);
    b.update(fewer);
    for (let i = 0; i < 200; i++) assert.notEqual(b.pick(fewer, { now: i, hashKey: `k${i}` }), eps[2]);
  });
}

test('p2c-ewma: prefers the endpoint with fewer outstanding requests', () => {
  const b = createBalancer({ algorithm: 'p2c-ewma' }, seeded(7));
  const eps = endpoints(2);
  eps[0]!.inflight = 10;
  for (let i = 0; i < 100; i++) assert.equal(b.pick(eps, { now: i }), eps[1]);
});

test('p2c-ewma: prefers the lower peak-EWMA latency at equal load', () => {
  const b = createBalancer({ algorithm: 'p2c-ewma' }, seeded(8));
  const eps = endpoints(2);
  updatePeakEwma(eps[0]!, 100, 1, 10_000);
  updatePeakEwma(eps[1]!, 5, 1, 10_000);
  for (let i = 0; i < 100; i++) assert.equal(b.pick(eps, { now: i }), eps[1]);
});

test('p2c-ewma: a stale slow sample decays, so the instance is tried again (Finagle observe(0) on read)', () => {
  const b = createBalancer({ algorithm: 'p2c-ewma', decay_ms: 1000 }, seeded(11));
  const eps = endpoints(2);
  updatePeakEwma(eps[0]!, 50, 1, 1000); // one slow first sample, never refreshed
  updatePeakEwma(eps[1]!, 5, 1, 1000);
  eps[1]!.ewmaAt = 10_000; // b keeps getting fresh 5 ms samples
  assert.equal(b.pick(eps, { now: 10 }), eps[1]);
  assert.equal(b.pick(eps, { now: 10_000 }), eps[0], 'after 10 time constants a looks cheap again');
});

test('p2c-ewma: a slow-start weight makes a new endpoint proportionally less attractive', () => {
  const b = createBalancer({ algorithm: 'p2c-ewma' }, seeded(9));
  const eps = endpoints(2);
  eps[0]!.weight = 0.1;
  eps[1]!.inflight = 3; // cost 4 vs new endpoint's 1/0.1 = 10
  for (let i = 0; i < 50; i++) assert.equal(b.pick(eps, { now: i }), eps[1]);
});

test('peak EWMA jumps to a higher sample and decays towards lower ones with e^(-dt/tau)', () => {
  const ep = { ewmaMs: 0, ewmaAt: 0 };
  updatePeakEwma(ep, 10, 1000, 10_000);
  assert.equal(ep.ewmaMs, 10);
  updatePeakEwma(ep, 50, 1001, 10_000);
  assert.equal(ep.ewmaMs, 50);
  updatePeakEwma(ep, 10, 11_001, 10_000); // one time constant later
  const w = Math.exp(-1);
  assert.ok(Math.abs(ep.ewmaMs - (50 * w + 10 * (1 - w))) < 1e-9);
});

test('round-robin: cycles through endpoints in order at full weight', () => {
  const b = createBalancer({ algorithm: 'round-robin' });
  const eps = endpoints(3);
  const seq = Array.from({ length: 6 }, () => b.pick(eps, { now: 0 })!.id);
  assert.deepEqual(seq, ['e0', 'e1', 'e2', 'e0', 'e1', 'e2']);
});

test('round-robin: an endpoint at slow-start weight w gets about w of its turns', () => {
  const b = createBalancer({ algorithm: 'round-robin' }, seeded(10));
  const eps = endpoints(2);
  eps[1]!.weight = 0.2;
  let slow = 0;
  for (let i = 0; i < 10_000; i++) if (b.pick(eps, { now: i }) === eps[1]) slow++;
  // full share would be 5000; ramped share ≈ 0.2/(1+0.2) ≈ 1667
  assert.ok(slow > 1200 && slow < 2200, `slow endpoint got ${slow}`);
});

test('consistent-hash: the same key sticks to the same endpoint', () => {
  const b = createBalancer({ algorithm: 'consistent-hash' });
  const eps = endpoints(5);
  b.update(eps);
  for (let i = 0; i < 100; i++) {
    const k = `user-${i}`;
    const first = b.pick(eps, { now: 0, hashKey: k });
    for (let j = 0; j < 3; j++) assert.equal(b.pick(eps, { now: j, hashKey: k }), first);
  }
});

test('consistent-hash: adding a fifth endpoint moves about 1/5 of keys, all to the new one', () => {
  const b = createBalancer({ algorithm: 'consistent-hash' });
  const four = endpoints(5).slice(0, 4);
  const five = [...four, { id: 'e4', inflight: 0, ewmaMs: 0, ewmaAt: 0, weight: 1 }];
  b.update(four);
  const before = new Map<string, string>();
  for (let i = 0; i < 5000; i++) before.set(`k${i}`, b.pick(four, { now: 0, hashKey: `k${i}` })!.id);
  b.update(five);
  let moved = 0;
  for (let i = 0; i < 5000; i++) {
    const now = b.pick(five, { now: 0, hashKey: `k${i}` })!.id;
    if (now !== before.get(`k${i}`)) {
      moved++;
      assert.equal(now, 'e4', 'a moved key must move to the new endpoint');
    }
  }
  assert.ok(moved > 5000 * 0.12 && moved < 5000 * 0.3, `moved ${moved} of 5000`);
});

test('consistent-hash: bounded load sends a hot key elsewhere once its endpoint exceeds c x mean', () => {
  const b = createBalancer({ algorithm: 'consistent-hash', balance_factor: 1.25 });
  const eps = endpoints(4);
  b.update(eps);
  const home = b.pick(eps, { now: 0, hashKey: 'hot' })!;
  home.inflight = 10; // total 10, cap = ceil(1.25 * 11 / 4) = 4
  const other = b.pick(eps, { now: 0, hashKey: 'hot' })!;
  assert.notEqual(other, home);
  home.inflight = 0;
  assert.equal(b.pick(eps, { now: 0, hashKey: 'hot' }), home, 'returns home once load drops');
});

test('createBalancer() rejects an unknown algorithm with the known list', () => {
  assert.throws(
    () => createBalancer({ algorithm: 'random' as never }),
    /known: p2c-ewma, round-robin, consistent-hash/,
  );
});
