/** The llm balancer: the Balancer contract, saturation filter, scoring and prefix affinity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../../../src/gateway/balancer.js';
import { createBalancer } from '../../../src/gateway/balancer.js';
import { createLlmBalancer } from '../../../src/llm/routing/llm-balancer.js';
import { LlmInstanceStates } from '../../../src/llm/routing/llm-instance-states.js';
import { PrefixIndex, prefixChain } from '../../../src/llm/routing/prefix-index.js';
import { promptPrefixOf, routePrompt } from '../../../src/llm/routing/prompt-prefixes.js';

function endpoints(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({ id: `e${i}`, inflight: 0, ewmaMs: 0, ewmaAt: 0, weight: 1 }));
}

function setup(n = 4) {
  const states = new LlmInstanceStates({ maxAgeMs: 1000 });
  const b = createLlmBalancer({ states });
  const eps = endpoints(n);
  b.update(eps);
  return { states, b, eps };
}

const tokens = (seed: number, n: number) =>
  Array.from({ length: n }, (_, i) => (seed * 7919 + i * 31) % 50_000);

// The shared Balancer contract (test/gateway/balancer-contract.test.ts), for the llm balancer.
test('llm: contract: undefined for an empty pool, members only, excluded avoided, one endpoint always', () => {
  const { b, eps } = setup(3);
  assert.equal(b.pick([], { now: 0 }), undefined);
  for (let i = 0; i < 100; i++) assert.ok(eps.includes(b.pick(eps, { now: i })!));
  for (let i = 0; i < 30; i++) assert.notEqual(b.pick(eps, { now: i }, eps[1]), eps[1]);
  assert.equal(b.pick([eps[0]!], { now: 0 }, eps[0]), eps[0]);
});

test('llm: contract: with equal load every endpoint gets a share', () => {
  const { b, eps } = setup(4);
  const counts = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const ep = b.pick(eps, { now: i })!;
    counts.set(ep.id, (counts.get(ep.id) ?? 0) + 1);
  }
  assert.equal(counts.size, 4);
  for (const c of counts.values()) assert.ok(c > 500, `share ${c} too small`);
});

test('llm: createBalancer({ custom }) returns the given balancer as it is', () => {
  const { b } = setup();
  assert.equal(createBalancer({ custom: b }), b);
});

test('llm: a saturated instance (queue >= 5 or KV >= 0.8) takes nothing while another is not', () => {
  const { b, eps, states } = setup(3);
  states.update('e0', { waiting: 5, kvUtil: 0.1 }, 0);
  states.update('e1', { waiting: 0, kvUtil: 0.8 }, 0);
  states.update('e2', { waiting: 4, kvUtil: 0.79 }, 0);
  for (let i = 0; i < 20; i++) assert.equal(b.pick(eps, { now: 10 })!.id, 'e2');
  assert.equal(b.saturated(eps, 10), false);
  states.update('e2', { waiting: 6 }, 0);
  assert.equal(b.saturated(eps, 10), true);
  assert.ok(b.pick(eps, { now: 10 }) !== undefined, 'still picks one when all are saturated');
});

test('llm: stale engine values are not reused: an instance past maxAge or after a failed scrape is not saturated', () => {
  const { b, eps, states } = setup(2);
  states.update('e0', { waiting: 9 }, 0);
  states.update('e1', { waiting: 9 }, 0);
  assert.equal(b.saturated(eps, 500), true);
  assert.equal(b.saturated(eps, 1500), false); // older than maxAgeMs
  states.update('e0', { waiting: 9 }, 2000);
  states.update('e1', { waiting: 9 }, 2000);
  states.markStale('e1');
  assert.equal(b.saturated(eps, 2100), false);
  assert.equal(states.signals('e1', 2100), undefined);
});

test('llm: a shorter engine queue and more KV headroom win at equal prefix', () => {
  const { b, eps, states } = setup(3);
  states.update('e0', { waiting: 3, kvUtil: 0.5 }, 0);
  states.update('e1', { waiting: 0, kvUtil: 0.1 }, 0);
  states.update('e2', { waiting: 3, kvUtil: 0.1 }, 0);
  assert.equal(b.pick(eps, { now: 1 })!.id, 'e1');
  eps[1]!.inflight = 10; // the gateway's live in-flight count adds to the scraped queue
  assert.equal(b.pick(eps, { now: 1 })!.id, 'e2');
});

test('llm: prompts sharing a prefix follow the instance that served it', () => {
  const { b, eps } = setup(4);
  const shared = tokens(1, 512);
  const first = b.pick(eps, { now: 0, prefix: prefixChain([...shared, ...tokens(2, 40)]) })!;
  for (let i = 0; i < 10; i++) {
    const ep = b.pick(eps, { now: i, prefix: prefixChain([...shared, ...tokens(100 + i, 40)]) })!;
    assert.equal(ep, first);
  }
  const other = b.pick(eps, { now: 0, prefix: prefixChain(tokens(9, 512)) })!;
  assert.notEqual(other, first, 'a new prefix goes by load (rotation), not to the busy one');
});

test('llm: prefix affinity holds short of saturation and yields at the threshold', () => {
  const { b, eps, states } = setup(2);
  const chain = prefixChain(tokens(3, 256));
  const home = b.pick(eps, { now: 0, prefix: chain })!;
  const away = eps.find((e) => e !== home)!;
  states.update(away.id, { waiting: 0, kvUtil: 0 }, 0);
  states.update(home.id, { waiting: 4, kvUtil: 0.7 }, 0);
  assert.equal(b.pick(eps, { now: 1, prefix: chain }), home); // 0 + 0.3 + 1 + 2 > 1 + 1 + 1 + 0
  states.update(home.id, { waiting: 5, kvUtil: 0.7 }, 0);
  assert.equal(b.pick(eps, { now: 1, prefix: chain }), away);
});

test('routePrompt registers the chain on the request object; the balancer finds it through ctx.request', () => {
  const { b, eps } = setup(4);
  const req = {};
  const text = 'You are a helpful assistant. '.repeat(40);
  const chain = routePrompt(req, text);
  assert.ok(chain.length >= 10);
  assert.equal(promptPrefixOf(req), chain);
  const first = b.pick(eps, { now: 0, request: req })!;
  const req2 = {};
  routePrompt(req2, text + ' And one more question?');
  assert.equal(b.pick(eps, { now: 1, request: req2 }), first);
});

test('prefixChain: block i depends on every token before it; a partial block is not hashed', () => {
  const a = prefixChain(tokens(1, 40), 16);
  assert.equal(a.length, 2);
  const changedFirst = tokens(1, 40);
  changedFirst[0] = 7;
  const b = prefixChain(changedFirst, 16);
  assert.notEqual(a[0], b[0]);
  assert.notEqual(a[1], b[1]);
  const changedLast = tokens(1, 40);
  changedLast[39] = 7;
  assert.deepEqual(prefixChain(changedLast, 16), a);
});

test('PrefixIndex: bounded, least recently used blocks evicted first; forget drops an instance', () => {
  const idx = new PrefixIndex({ capacity: 4, perBlock: 2 });
  const c1 = Uint32Array.from([1, 2]);
  const c2 = Uint32Array.from([3, 4]);
  const c3 = Uint32Array.from([5, 6]);
  const out = new Map<string, number>();
  idx.record(c1, 'a');
  idx.record(c2, 'b');
  idx.record(c1, 'a'); // c1 recently used again
  idx.record(c3, 'c'); // evicts c2, the oldest
  assert.equal(idx.size, 4);
  assert.equal(idx.match(c2, out), 0);
  assert.equal(idx.match(c1, out), 2);
  assert.deepEqual([...out], [['a', 2]]);
  idx.record(Uint32Array.from([1]), 'x');
  idx.record(Uint32Array.from([1]), 'y'); // perBlock 2: a is dropped from block 1
  assert.equal(idx.match(c1, out), 1);
  assert.deepEqual(new Set(out.keys()), new Set(['x', 'y']));
  idx.forget('c');
  assert.equal(idx.match(c3, out), 0);
});

test('llm: an instance that leaves the pool is forgotten by the prefix index and the states', () => {
  const { b, eps, states } = setup(2);
  const chain = prefixChain(tokens(5, 64));
  const home = b.pick(eps, { now: 0, prefix: chain })!;
  states.update(home.id, { waiting: 1 }, 0);
  const out = new Map<string, number>();
  assert.equal(b.prefixes.match(chain, out), 4);
  b.update(eps.filter((e) => e !== home));
  assert.equal(b.prefixes.match(chain, out), 0);
  assert.equal(states.signals(home.id, 0), undefined);
});
