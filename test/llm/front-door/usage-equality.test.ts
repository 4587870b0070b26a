/**
 * Usage equality (issue 19, "Must show"): 1,000 mixed requests (OpenAI chat and completions and
 * Anthropic messages, streaming and not, one in five cut by the backend after a few chunks) through
 * the front door to two llm-sim instances. The ledger's reported rows add up to exactly llm-sim's
 * own counts of the requests whose usage it sent; every other row is marked estimated; every
 * request has exactly one row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDoor, type Door } from './harness.js';

const N = 1000;
const CONCURRENCY = 32;

function request(i: number): { path: string; body: unknown; cut: boolean } {
  const stream = i % 2 === 0;
  const cut = i % 5 === 3; // both parities: streaming and not
  const content = `question ${i % 37}: ${'why '.repeat(i % 5)}`;
  switch (i % 3) {
    case 0:
      return {
        path: '/v1/chat/completions',
        body: { model: 'm', messages: [{ role: 'user', content }], stream, max_tokens: 4 + (i % 9) },
        cut,
      };
    case 1:
      return { path: '/v1/completions', body: { model: 'm', prompt: content, stream, max_tokens: 5 }, cut };
    default:
      return {
        path: '/v1/messages',
        body: { model: 'm', max_tokens: 3 + (i % 7), messages: [{ role: 'user', content }], stream },
        cut,
      };
  }
}

async function send(door: Door, i: number): Promise<void> {
  const r = request(i);
  const res = await fetch(`${door.base}${r.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(r.cut ? { 'x-llm-sim-fault': 'cut:2' } : {}) },
    body: JSON.stringify(r.body),
  });
  await res.arrayBuffer();
}

test('1,000 mixed requests: the ledger’s reported totals equal llm-sim’s own counts', async () => {
  const door = await startDoor({ instances: [{ seed: 1 }, { seed: 2 }] });
  try {
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) await send(door, next++);
      }),
    );
    // every request's row is appended before its response ends
    assert.equal(door.rows.length, N);
    const records = door.sims.flatMap((s) => s.stats().requests).filter((r) => r.usageReported);
    const reported = door.rows.filter((r) => r.usageSource === 'reported');
    const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);
    assert.equal(reported.length, records.length);
    assert.equal(
      sum(reported, (r) => r.input),
      sum(records, (r) => r.promptTokens),
    );
    assert.equal(
      sum(reported, (r) => r.cachedInput),
      sum(records, (r) => r.cachedTokens),
    );
    assert.equal(
      sum(reported, (r) => r.output),
      sum(records, (r) => r.completionTokens),
    );
    const estimated = door.rows.filter((r) => r.usageSource === 'estimated');
    assert.equal(estimated.length, N / 5, 'exactly the cut requests are estimated');
    assert.ok(reported.length > 0 && sum(reported, (r) => r.output) > 1000);
    assert.ok(Date.now() - started < 120_000);
  } finally {
    await door.close();
  }
});
