/** The StateStore contract: JSON values by (service, key), visible at once, durable after flush. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initialDecisionState, type DecisionState } from '../../../src/controller/decision.js';
import { DECISION_STATE_KEY, policyStateKey, type StateStore } from '../../../src/store/state-store.js';
import type { Awaitable } from '../../../src/store/store.js';

/** A store under test and how to persist, reopen and close it. */
export interface StateStoreHandle {
  state: StateStore;
  flush(): Awaitable<void>;
  reopen(): Promise<StateStoreHandle>;
  close(): Awaitable<void>;
}

/** Registers the contract tests for one implementation. */
export function stateStoreContract(name: string, open: () => Promise<StateStoreHandle>): void {
  describe(`StateStore contract: ${name}`, () => {
    it('get returns undefined for a missing key and the last set value otherwise', async () => {
      const h = await open();
      try {
        assert.equal(await h.state.get('api', 'nope'), undefined);
        await h.state.set('api', 'k', { a: 1 });
        assert.deepEqual(await h.state.get('api', 'k'), { a: 1 });
        await h.state.set('api', 'k', [1, 'two', null]);
        assert.deepEqual(await h.state.get('api', 'k'), [1, 'two', null]);
        await h.flush();
        assert.deepEqual(await h.state.get('api', 'k'), [1, 'two', null]);
      } finally {
        await h.close();
      }
    });

    it('services and keys are isolated and delete removes one value', async () => {
      const h = await open();
      try {
        await h.state.set('api', policyStateKey('builtin:kpa'), { n: 1 });
        await h.state.set('web', policyStateKey('builtin:kpa'), { n: 2 });
        await h.state.set('api', 'other', 0);
        await h.flush();
        await h.state.delete('api', policyStateKey('builtin:kpa'));
        assert.equal(await h.state.get('api', policyStateKey('builtin:kpa')), undefined);
        assert.deepEqual(await h.state.get('web', policyStateKey('builtin:kpa')), { n: 2 });
        assert.equal(await h.state.get('api', 'other'), 0);
        await h.state.delete('api', 'never-set');
      } finally {
        await h.close();
      }
    });

    it('the decision state survives a reopen unchanged', async () => {
      const h = await open();
      const s: DecisionState = {
        ...initialDecisionState(),
        recommendations: [
          { t: 1000, replicas: 3 },
          { t: 2000, replicas: 5 },
        ],
        changes: [{ t: 2000, from: 3, to: 5 }],
        lastChangeAt: 2000,
        panicUntil: null,
        policyState: { ewma: 12.5, seen: ['a'] },
        override: { replicas: 4, until: null },
      };
      await h.state.set('api', DECISION_STATE_KEY, s);
      await h.flush();
      await h.close();
      const h2 = await h.reopen();
      try {
        assert.deepEqual(await h2.state.get<DecisionState>('api', DECISION_STATE_KEY), s);
      } finally {
        await h2.close();
      }
    });
  });
}
