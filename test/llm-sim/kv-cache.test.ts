import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvCache, blockHashes } from '../../src/llm-sim/kv-cache.js';

const tokens = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

test('block hashes chain: equal blocks after different prefixes are different blocks', () => {
  const a = blockHashes([...tokens(4, 100), ...tokens(4)], 4);
  const b = blockHashes([...tokens(4, 200), ...tokens(4)], 4);
  assert.equal(a.length, 2);
  assert.notEqual(a[1], b[1]);
  assert.deepEqual(blockHashes(tokens(7), 4), blockHashes(tokens(8), 4).slice(0, 1));
});

test('a repeated prompt finds its full blocks cached after the first prefill, and counts queries and hits', () => {
  const kv = new KvCache({ totalBlocks: 100, blockSize: 16 });
  const prompt = tokens(100); // 6 full blocks + 4 tokens
  const first = kv.acquire(prompt, 10)!;
  assert.equal(first.cachedTokens, 0);
  kv.commitPrompt(first);
  kv.release(first);
  const second = kv.acquire([...prompt, 7, 8, 9], 10)!;
  assert.equal(second.cachedTokens, 96);
  const s = kv.snapshot();
  assert.equal(s.queries, 203);
  assert.equal(s.hits, 96);
});

test('usage counts blocks held by running sequences, not cached ones without a holder', () => {
  const kv = new KvCache({ totalBlocks: 10, blockSize: 4 });
  const lease = kv.acquire(tokens(16), 4)!; // 5 blocks
  assert.equal(kv.snapshot().usage, 0.5);
  kv.commitPrompt(lease);
  assert.equal(kv.snapshot().usedBlocks, 5);
  kv.release(lease);
  assert.equal(kv.snapshot().usage, 0);
  assert.equal(kv.snapshot().cachedBlocks, 4);
});

test('acquire refuses when the free blocks do not suffice, and succeeds after a release', () => {
  const kv = new KvCache({ totalBlocks: 4, blockSize: 4 });
  const a = kv.acquire(tokens(8), 4)!; // 3 blocks
  assert.equal(kv.acquire(tokens(4, 50), 4), undefined); // needs 2, 1 free
  kv.release(a);
  assert.ok(kv.acquire(tokens(4, 50), 4));
});

test('LRU eviction drops the least recently used unheld prefix first', () => {
  const kv = new KvCache({ totalBlocks: 4, blockSize: 4 });
  const run = (prompt: number[]) => {
    const lease = kv.acquire(prompt, 1)!;
    kv.commitPrompt(lease);
    kv.release(lease);
    return lease.cachedTokens;
  };
  const a = tokens(5, 0); // one full block
  const b = tokens(5, 100);
  run(a);
  run(b);
  assert.equal(run(a), 4); // a used again: b is now the least recent
  // 3 blocks for c (2 full prompt blocks): 2 cached + 3 > 4, so one eviction, and it is b's.
  run(tokens(9, 200));
  assert.equal(kv.cachedPrefixTokens(b), 0);
  assert.equal(kv.cachedPrefixTokens(a), 4);
});

test('held prefix blocks are never evicted', () => {
  const kv = new KvCache({ totalBlocks: 4, blockSize: 4 });
  const a = kv.acquire(tokens(8), 1)!; // 3 blocks
  kv.commitPrompt(a);
  assert.equal(kv.acquire(tokens(8, 100), 1), undefined);
  assert.equal(kv.cachedPrefixTokens(tokens(8)), 8);
});
