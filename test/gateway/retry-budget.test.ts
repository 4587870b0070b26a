import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRetryBudget } from '../../src/gateway/retry-budget.js';

test('retries stay within percent of requests once the time-based floor is spent', () => {
  const b = createRetryBudget({ percent: 20, minPerSecond: 0 });
  let retries = 0;
  for (let i = 0; i < 1000; i++) {
    b.deposit(0);
    if (b.tryWithdraw(0)) retries++;
  }
  assert.ok(retries <= 200 && retries >= 190, `retries ${retries}`);
});

test('tryWithdraw() refuses when the balance is below one token', () => {
  const b = createRetryBudget({ percent: 20, minPerSecond: 0 });
  assert.equal(b.tryWithdraw(0), false);
  for (let i = 0; i < 5; i++) b.deposit(0);
  assert.equal(b.tryWithdraw(0), true);
  assert.equal(b.tryWithdraw(0), false);
});

test('a quiet service still gets minPerSecond retries as time passes', () => {
  const b = createRetryBudget({ percent: 20, minPerSecond: 3 });
  let n = 0;
  while (b.tryWithdraw(0)) n++;
  assert.equal(n, 3);
  assert.equal(b.tryWithdraw(0), false);
  assert.equal(b.tryWithdraw(1000), true); // 3 tokens accrued over 1 s
});

test('the balance is capped so a long quiet period cannot fund a retry storm', () => {
  const b = createRetryBudget({ percent: 20, minPerSecond: 3 });
  b.tryWithdraw(0);
  assert.ok(b.balance(3_600_000) <= 3 * 10 + 20);
});
