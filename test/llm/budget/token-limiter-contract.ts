/**
 * The TokenLimiter contract: every implementation (in memory, Redis) runs these cases. `make`
 * builds a limiter over the given consumers (a fresh state each time).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumerLimitsLike } from '../../../src/llm/budget/token-limits.js';
import type { ReserveVerdict, TokenLimiter } from '../../../src/llm/budget/token-limiter.js';

/** Builds a limiter over `consumers`. */
export type MakeLimiter = (
  consumers: Record<string, { limits?: ConsumerLimitsLike }>,
) => Promise<TokenLimiter>;

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0); // a Monday, noon UTC
const S = 1000;

function denied(v: ReserveVerdict): Extract<ReserveVerdict, { ok: false }> {
  assert.equal(v.ok, false, 'expected a denial');
  return v as Extract<ReserveVerdict, { ok: false }>;
}
function allowed(v: ReserveVerdict): Extract<ReserveVerdict, { ok: true }> {
  assert.equal(v.ok, true, `expected admission, got ${JSON.stringify(v)}`);
  return v as Extract<ReserveVerdict, { ok: true }>;
}

/** Registers the contract tests for one implementation. */
export function tokenLimiterContract(name: string, make: MakeLimiter): void {
  const tpm = (n: number) => ({ c: { limits: { tokens_per_minute: n } } });
  const r = (tokens: number, now: number, extra: { model?: string; costUsd?: number } = {}) => ({
    consumer: 'c',
    model: extra.model ?? 'm',
    tokens,
    costUsd: extra.costUsd,
    now,
  });

  test(`${name}: a consumer without token limits is admitted with no charges and no headers`, async () => {
    const l = await make({ c: {} });
    const v = allowed(await l.reserve(r(1e9, T0)));
    assert.deepEqual(v.reservation.charges, []);
    assert.deepEqual(v.headers, {});
    allowed(await l.reserve({ ...r(5, T0), consumer: 'unknown' }));
  });

  test(`${name}: reserve admits up to the minute limit and denies the rest, naming the limit`, async () => {
    const l = await make(tpm(1000));
    const a = allowed(await l.reserve(r(600, T0)));
    assert.equal(a.headers['ratelimit-remaining'], '400');
    assert.equal(a.headers['ratelimit-policy'], '1000;w=60;name="tokens_per_minute"');
    allowed(await l.reserve(r(400, T0 + S)));
    const d = denied(await l.reserve(r(1, T0 + 2 * S)));
    assert.equal(d.limit, 'tokens_per_minute');
    assert.equal(d.retryAfterS, 58, 'the first entry (600) ages out at T0 + 60 s');
    assert.equal(d.headers['retry-after'], '58');
    assert.equal(d.headers['ratelimit-limit'], '1000');
    assert.equal(d.headers['ratelimit-remaining'], '0');
  });

  test(`${name}: the minute slides: an entry frees its tokens 60 s after it was reserved`, async () => {
    const l = await make(tpm(1000));
    allowed(await l.reserve(r(600, T0)));
    allowed(await l.reserve(r(400, T0 + 30 * S)));
    assert.equal(denied(await l.reserve(r(1, T0 + 59 * S))).retryAfterS, 1);
    allowed(await l.reserve(r(600, T0 + 60 * S)));
    const d = denied(await l.reserve(r(1, T0 + 61 * S)));
    assert.equal(d.retryAfterS, 29, 'the 400 of T0 + 30 s is next to age out');
  });

  test(`${name}: settle gives back what the response did not use (and charges what it used beyond)`, async () => {
    const l = await make(tpm(1000));
    const a = allowed(await l.reserve(r(800, T0)));
    denied(await l.reserve(r(300, T0)));
    await l.settle(a.reservation, { tokens: 100, costUsd: 0, now: T0 + S });
    allowed(await l.reserve(r(900, T0 + S)));
    denied(await l.reserve(r(1, T0 + S)));
    await l.settle(a.reservation, { tokens: 0, costUsd: 0, now: T0 + S }); // a second settle is ignored
    denied(await l.reserve(r(1, T0 + S)));
    const l2 = await make(tpm(1000));
    const b = allowed(await l2.reserve(r(500, T0)));
    await l2.settle(b.reservation, { tokens: 700, costUsd: 0, now: T0 + S });
    allowed(await l2.reserve(r(300, T0 + S)));
    denied(await l2.reserve(r(1, T0 + S)));
  });

  test(`${name}: all or nothing: a denial by the model's limit charges none of the consumer's`, async () => {
    const l = await make({
      c: { limits: { tokens_per_minute: 1000, models: { big: { tokens_per_day: 500 } } } },
    });
    allowed(await l.reserve(r(400, T0, { model: 'big' })));
    const d = denied(await l.reserve(r(200, T0, { model: 'big' })));
    assert.equal(d.limit, 'models.big.tokens_per_day');
    assert.equal(d.retryAfterS, 12 * 3600, 'until 00:00 UTC');
    allowed(await l.reserve(r(600, T0, { model: 'small' })));
    assert.equal(denied(await l.reserve(r(1, T0, { model: 'small' }))).limit, 'tokens_per_minute');
  });

  test(`${name}: a day budget resets at 00:00 UTC`, async () => {
    const l = await make({ c: { limits: { tokens_per_day: 100 } } });
    const late = Date.UTC(2026, 11, 7, 23, 59, 59);
    allowed(await l.reserve(r(100, late)));
    const d = denied(await l.reserve(r(1, late)));
    assert.equal(d.retryAfterS, 1);
    assert.equal(d.headers['ratelimit-policy'], '100;w=86400;name="tokens_per_day"');
    allowed(await l.reserve(r(100, late + S)));
  });

  test(`${name}: a cost budget per calendar month is charged the reserved cost, settled to the real one`, async () => {
    const l = await make({ c: { limits: { cost_per_month_usd: 1 } } });
    const a = allowed(await l.reserve(r(10, T0, { costUsd: 0.6 })));
    const d = denied(await l.reserve(r(10, T0, { costUsd: 0.5 })));
    assert.equal(d.limit, 'cost_per_month_usd');
    assert.equal(d.retryAfterS, (Date.UTC(2027, 0, 1) - T0) / 1000, 'until the 1st of next month');
    await l.settle(a.reservation, { tokens: 10, costUsd: 0.2, now: T0 });
    allowed(await l.reserve(r(10, T0, { costUsd: 0.5 })));
    allowed(await l.reserve(r(10, Date.UTC(2027, 0, 1), { costUsd: 1 })));
  });

  test(`${name}: a request larger than the limit is denied until the window is whole`, async () => {
    const l = await make(tpm(100));
    const d = denied(await l.reserve(r(101, T0)));
    assert.equal(d.retryAfterS, 60);
    allowed(await l.reserve(r(100, T0)));
  });

  test(`${name}: concurrent reserves never admit more than the limit`, async () => {
    const l = await make(tpm(1000));
    const verdicts = await Promise.all(Array.from({ length: 50 }, () => l.reserve(r(220, T0))));
    assert.equal(verdicts.filter((v) => v.ok).length, 4);
  });
}
