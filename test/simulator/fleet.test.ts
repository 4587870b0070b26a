import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleet } from '../../src/simulator/fleet.js';

test('a launched instance is ready exactly `startup` seconds after the second it was launched in', () => {
  const f = fleet({ startupS: 30, drainS: 1, initial: 2 });
  f.scaleTo(4, 10); // end of second 10
  assert.equal(f.starting, 2);
  assert.equal(f.nextEventAt(), 41);
  f.advance(40);
  assert.deepEqual([f.ready, f.starting], [2, 2]);
  f.advance(41);
  assert.deepEqual([f.ready, f.starting], [4, 0]);
  assert.equal(f.nextEventAt(), Infinity);
});

test('scale-down cancels starting instances first, newest first, then drains ready ones', () => {
  const f = fleet({ startupS: 10, drainS: 3, initial: 2 });
  f.scaleTo(3, 0); // ready at 11
  f.scaleTo(5, 5); // two more, ready at 16
  f.scaleTo(3, 6); // cancels the two newest
  assert.deepEqual([f.ready, f.starting, f.draining], [2, 1, 0]);
  f.advance(11);
  assert.deepEqual([f.ready, f.starting], [3, 0]);
  f.scaleTo(1, 20); // drains two, billed until 24
  assert.deepEqual([f.ready, f.starting, f.draining], [1, 0, 2]);
  f.advance(23);
  assert.equal(f.draining, 2);
  f.advance(24);
  assert.equal(f.draining, 0);
});

test('scaleTo with the current count changes nothing; negative or fractional targets are floored at 0', () => {
  const f = fleet({ startupS: 5, drainS: 0, initial: 3 });
  f.scaleTo(3, 0);
  assert.deepEqual([f.ready, f.starting, f.draining], [3, 0, 0]);
  f.scaleTo(-2, 1);
  assert.deepEqual([f.ready, f.starting, f.draining], [0, 0, 0]);
  f.scaleTo(1.9, 2);
  assert.equal(f.starting, 1);
});
