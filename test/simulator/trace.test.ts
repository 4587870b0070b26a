import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrace } from '../../src/simulator/trace.js';
import { arrivals } from '../../src/simulator/arrivals.js';
import { isLuascaleError } from '../../src/core/errors.js';

function error(text: string): string {
  try {
    parseTrace(text, 'x.csv');
  } catch (err) {
    assert.ok(
      isLuascaleError(err, 'LS_ERR_TRACE_INVALID'),
      `expected LS_ERR_TRACE_INVALID, got ${String(err)}`,
    );
    return err.message;
  }
  assert.fail('expected an error');
}

test('parseTrace reads rows, the resolution and the duration', () => {
  const tr = parseTrace('t,rps\n0,1.5\n60,2\n120,0\n', 'a.csv');
  assert.deepEqual([...tr.t], [0, 60, 120]);
  assert.deepEqual([...tr.rps], [1.5, 2, 0]);
  assert.equal(tr.stepSeconds, 60);
  assert.equal(tr.durationSeconds, 180);
  assert.deepEqual(tr.gaps, []);
});

test('parseTrace accepts CRLF, a BOM, blank lines and spaces around values', () => {
  const tr = parseTrace('\ufeffT, RPS\r\n0, 1\r\n\r\n1 ,2\r\n', 'a.csv');
  assert.deepEqual([...tr.rps], [1, 2]);
  assert.equal(tr.durationSeconds, 2);
});

test('parseTrace records a gap where t jumps by more than the resolution', () => {
  const tr = parseTrace('t,rps\n0,1\n60,2\n240,3\n300,4\n', 'a.csv');
  assert.equal(tr.stepSeconds, 60);
  assert.deepEqual(tr.gaps, [[120, 240]]);
  assert.equal(tr.durationSeconds, 360);
});

test('bad traces give one line naming the file and the row', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /^x\.csv:1: empty file/],
    ['\n\n', /^x\.csv:1: empty file/],
    ['time,value\n0,1\n', /^x\.csv:1: missing header: expected "t,rps", got "time,value"/],
    ['0,1\n1,2\n', /^x\.csv:1: missing header/],
    ['t,rps\n', /^x\.csv:2: no rows after the header/],
    ['t,rps\n0,1\n1,abc\n', /^x\.csv:3: rps is not a number: "abc"/],
    ['t,rps\nzero,1\n', /^x\.csv:2: t is not a number: "zero"/],
    ['t,rps\n0,\n', /^x\.csv:2: rps is not a number: ""/],
    ['t,rps\n0,0x10\n', /^x\.csv:2: rps is not a number/],
    ['t,rps\n0,NaN\n', /^x\.csv:2: rps is not a number/],
    ['t,rps\n-1,1\n', /^x\.csv:2: t must be >= 0, got -1/],
    ['t,rps\n0,1\n60,2\n30,3\n', /^x\.csv:4: t must increase: 30 follows 60/],
    ['t,rps\n0,1\n0,2\n', /^x\.csv:3: t must increase: 0 follows 0/],
    ['t,rps\n0,-2\n', /^x\.csv:2: rps must be >= 0, got -2/],
    ['t,rps\n0.5,1\n', /^x\.csv:2: t must be whole seconds/],
    ['t,rps\n0,1,2\n', /^x\.csv:2: expected two values/],
    ['t,rps\n0;1\n', /^x\.csv:2: expected two values/],
  ];
  for (const [text, re] of cases) {
    const msg = error(text);
    assert.match(msg, re, JSON.stringify(text));
    assert.ok(!msg.includes('\n'), 'one line');
  }
});

test('arrivals spread a bucket evenly over its seconds and hold the last value across a gap', () => {
  const tr = parseTrace('t,rps\n0,1\n2,3\n6,5\n', 'a.csv'); // step 2, gap [4, 6)
  const a = arrivals(tr, { scale: 10 });
  assert.equal(a.seconds, 8);
  const got = Array.from({ length: a.seconds }, () => a.next());
  assert.deepEqual(got, [10, 10, 30, 30, 30, 30, 50, 50]);
});

test('arrivals.repeats() counts the seconds left in the bucket; skip() jumps over them', () => {
  const tr = parseTrace('t,rps\n0,1\n60,2\n', 'a.csv');
  const a = arrivals(tr);
  assert.equal(a.next(), 1);
  assert.equal(a.repeats(), 59);
  a.skip(59);
  assert.equal(a.next(), 2);
  assert.equal(a.repeats(), 59);
});

test('seeded Poisson arrivals repeat exactly for a seed and average the bucket rate', () => {
  const tr = parseTrace('t,rps\n0,2\n5000,200\n', 'a.csv');
  const draw = (seed: number) => {
    const a = arrivals(tr, { seed });
    return Array.from({ length: a.seconds }, () => a.next());
  };
  const one = draw(7);
  assert.deepEqual(draw(7), one);
  assert.notDeepEqual(draw(8), one);
  assert.ok(one.every((x) => Number.isInteger(x) && x >= 0));
  const low = one.slice(0, 5000).reduce((s, x) => s + x, 0) / 5000;
  const high = one.slice(5000).reduce((s, x) => s + x, 0) / 5000;
  assert.ok(Math.abs(low - 2) < 0.1, `mean ${low}`);
  assert.ok(Math.abs(high - 200) < 1, `mean ${high}`);
  // variance of a Poisson equals its mean
  const v = one.slice(5000).reduce((s, x) => s + (x - high) ** 2, 0) / 5000;
  assert.ok(Math.abs(v / 200 - 1) < 0.1, `variance ${v}`);
  const a = arrivals(tr, { seed: 1 });
  a.next();
  assert.equal(a.repeats(), 0, 'random seconds never repeat');
});
