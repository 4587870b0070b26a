import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandTokenTrace, isTokenTraceText, parseTokenTrace } from '../../src/simulator/token-trace.js';
import { isLuascaleError } from '../../src/core/errors.js';

test('parses a token trace with CRLF endings', () => {
  const t = parseTokenTrace(
    't,context_tokens,generated_tokens\r\n0,100,5\r\n0.5,200,7\r\n2.25,50,1',
    'x.csv',
  );
  assert.deepEqual(Array.from(t.t), [0, 0.5, 2.25]);
  assert.deepEqual(Array.from(t.context), [100, 200, 50]);
  assert.deepEqual(Array.from(t.generated), [5, 7, 1]);
  assert.equal(t.durationSeconds, 3);
  assert.equal(isTokenTraceText('t,rps\n0,1\n'), false);
});

test('a bad row is one error naming the file and the line', () => {
  for (const [text, reason] of [
    ['t,context_tokens,generated_tokens\n0,10,5\n1,ten,5\n', /x\.csv:3: context_tokens/],
    ['t,context_tokens,generated_tokens\n2,10,5\n1,10,5\n', /x\.csv:3: t must not decrease/],
    ['t,context_tokens,generated_tokens\n0,10\n', /x\.csv:2: expected three values/],
    ['t,context_tokens,generated_tokens\n', /x\.csv:2: no rows/],
  ] as const) {
    assert.throws(
      () => parseTokenTrace(text, 'x.csv'),
      (err: unknown) =>
        isLuascaleError(err) && err.code === 'LS_ERR_TRACE_INVALID' && reason.test(err.message),
    );
  }
});

test('scale 1 replays the trace exactly; scale 2.5 gives 2 or 3 copies each, within a second, seeded', () => {
  const trace = parseTokenTrace(
    't,context_tokens,generated_tokens\n' +
      Array.from({ length: 200 }, (_, i) => `${i},${i + 1},3`).join('\n'),
  );
  const one = expandTokenTrace(trace, { scale: 1 });
  assert.deepEqual(
    Array.from(one.atMs),
    Array.from(trace.t, (x) => x * 1000),
  );
  const a = expandTokenTrace(trace, { scale: 2.5, seed: 7 });
  const b = expandTokenTrace(trace, { scale: 2.5, seed: 7 });
  assert.deepEqual(a, b);
  assert.ok(a.atMs.length > 2 * 200 && a.atMs.length < 3 * 200, `${a.atMs.length}`);
  for (let i = 1; i < a.atMs.length; i++) assert.ok(a.atMs[i]! >= a.atMs[i - 1]!);
  // Every copy of request k (context k + 1) lies in [k s, k + 1 s).
  for (let i = 0; i < a.atMs.length; i++) {
    const k = a.context[i]! - 1;
    assert.ok(a.atMs[i]! >= k * 1000 && a.atMs[i]! < (k + 1) * 1000);
  }
});
