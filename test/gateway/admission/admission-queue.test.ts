import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue } from '../../../src/gateway/admission/admission-queue.js';

test('the queue is FIFO and bounded', () => {
  const q = new AdmissionQueue<string>(2);
  assert.ok(q.push('a', 0, 100));
  assert.ok(q.push('b', 1, 100));
  assert.equal(q.push('c', 2, 100), undefined);
  assert.equal(q.full, true);
  assert.equal(q.shift()!.value, 'a');
  assert.equal(q.shift()!.value, 'b');
  assert.equal(q.shift(), undefined);
  assert.equal(q.size, 0);
});

test('expire returns waiters past their deadline, in order, and keeps the rest', () => {
  const q = new AdmissionQueue<string>(10);
  q.push('late', 0, 50);
  q.push('ok', 0, 500);
  q.push('later', 0, 40);
  assert.equal(q.nextDeadline(), 40);
  assert.deepEqual(
    q.expire(30).map((w) => w.value),
    [],
  );
  assert.deepEqual(
    q.expire(60).map((w) => w.value),
    ['late', 'later'],
  );
  assert.equal(q.size, 1);
  assert.equal(q.nextDeadline(), 500);
});

test('a removed waiter frees its slot and is skipped by shift', () => {
  const q = new AdmissionQueue<string>(2);
  const a = q.push('a', 0, 100)!;
  q.push('b', 0, 100);
  assert.equal(q.remove(a), true);
  assert.equal(q.remove(a), false);
  assert.ok(q.push('c', 0, 100));
  assert.deepEqual([q.shift()!.value, q.shift()!.value], ['b', 'c']);
});

test('a zero-length queue holds nobody', () => {
  const q = new AdmissionQueue<string>(0);
  assert.equal(q.push('a', 0, 1), undefined);
  assert.throws(() => new AdmissionQueue(-1), RangeError);
});

test('many pushes and shifts keep memory compacted', () => {
  const q = new AdmissionQueue<number>(10);
  for (let i = 0; i < 10_000; i++) {
    q.push(i, i, i + 10);
    assert.equal(q.shift()!.value, i);
  }
  assert.equal(q.size, 0);
  assert.equal(q.nextDeadline(), Number.POSITIVE_INFINITY);
});
