// The controller's one victim rule (moved here from test/providers/pure.test.ts with the function).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickForRemoval } from '../../src/controller/pick-for-removal.js';
import type { Instance } from '../../src/controller/provider.js';

describe('pickForRemoval', () => {
  const inst = (id: string, state: Instance['state'], startedAt: number): Instance => ({
    id,
    service: 's',
    url: '',
    state,
    startedAt,
  });
  const all = [
    inst('a', 'ready', 1),
    inst('b', 'ready', 3),
    inst('c', 'starting', 2),
    inst('d', 'draining', 0),
    inst('e', 'ready', 2),
    inst('f', 'failed', 9),
  ];

  it('removes draining, then starting, then the newest ready instance', () => {
    assert.deepEqual(
      pickForRemoval(all, 4).map((i) => i.id),
      ['d', 'c', 'b', 'e'],
    );
  });
  it('with a load function, removes the least loaded ready instance first', () => {
    const load: Record<string, number> = { a: 0, b: 5, e: 2 };
    assert.deepEqual(
      pickForRemoval(all, 5, { load: (id) => load[id] ?? 0 }).map((i) => i.id),
      ['d', 'c', 'a', 'e', 'b'],
    );
  });
  it('never picks stopped or failed instances, and handles count ≤ 0', () => {
    assert.equal(pickForRemoval(all, 99).length, 5);
    assert.deepEqual(pickForRemoval(all, 0), []);
    assert.deepEqual(pickForRemoval(all, -1), []);
  });
});

describe('pickForRemoval ties', () => {
  it('keeps the list order among instances of one state started in the same millisecond', () => {
    const inst = (id: string, state: Instance['state']): Instance => ({
      id,
      service: 's',
      url: '',
      state,
      startedAt: 5,
    });
    // the order the controller used before it called pickForRemoval: a stable sort of list()
    const list = [inst('z', 'ready'), inst('m', 'starting'), inst('a', 'ready'), inst('q', 'starting')];
    assert.deepEqual(
      pickForRemoval(list, 3).map((i) => i.id),
      ['m', 'q', 'z'],
    );
  });
});
