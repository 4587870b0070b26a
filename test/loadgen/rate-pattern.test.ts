import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constantRate, expectedArrivals, parsePattern, PatternError, rateAt, traceRate } from '../../src/loadgen/rate-pattern.js';
import { parseTrace } from '../../src/simulator/trace.js';

describe('parsePattern', () => {
  const valid: Array<[string, string, number[], number[]]> = [
    ['50', 'step', [0], [50]],
    ['const:2.5', 'step', [0], [2.5]],
    ['step:10,40@30s', 'step', [0, 30_000], [10, 40]],
    ['step:10,40,10@30s,1m', 'step', [0, 30_000, 60_000], [10, 40, 10]],
    ['ramp:0,100@500ms', 'ramp', [0, 500], [0, 100]],
    [' step: 10 , 40 @ 30 ', 'step', [0, 30_000], [10, 40]],
  ];
  for (const [text, kind, timesMs, rates] of valid) {
    it(`accepts "${text}"`, () => assert.deepEqual(({ ...parsePattern(text), label: undefined }), { kind, timesMs, rates, label: undefined }));
  }
  const invalid: Array<[string, RegExp]> = [
    ['', /is not a rate/],
    ['-5', /is not a rate/],
    ['fast', /is not a rate/],
    ['sine:1,2@3s', /unknown pattern kind "sine"/],
    ['step:10,40', /expected RATES@TIMES/],
    ['step:10,40@30s,60s', /2 rate\(s\) need 1 time\(s\), got 2/],
    ['step:10,40,50@30s,20s', /strictly increasing/],
    ['step:10,40@0s', /strictly increasing/],
    ['step:10,x@30s', /"x" is not a rate/],
    ['ramp:1,2@soon', /"soon" is not a duration/],
  ];
  for (const [text, message] of invalid) {
    it(`rejects "${text}" saying what was expected`, () =>
      assert.throws(() => parsePattern(text), (err) => err instanceof PatternError && message.test(err.message)));
  }
});

describe('rateAt and expectedArrivals', () => {
  it('a step pattern switches at the given time and integrates piecewise', () => {
    const p = parsePattern('step:10,40@30s');
    assert.equal(rateAt(p, 29_999), 10);
    assert.equal(rateAt(p, 30_000), 40);
    assert.equal(expectedArrivals(p, 0), 0);
    assert.equal(expectedArrivals(p, 30_000), 300);
    assert.equal(expectedArrivals(p, 31_000), 340);
  });
  it('a ramp pattern interpolates linearly and integrates as trapezoids, then holds', () => {
    const p = parsePattern('ramp:10,100,10@30s,90s');
    assert.equal(rateAt(p, 15_000), 55);
    assert.equal(rateAt(p, 60_000), 55);
    assert.equal(rateAt(p, 200_000), 10);
    assert.equal(expectedArrivals(p, 30_000), 1650);
    assert.equal(expectedArrivals(p, 90_000), 4950);
    assert.equal(expectedArrivals(p, 100_000), 5050);
  });
  it('a constant rate is linear in time', () => {
    assert.equal(expectedArrivals(constantRate(200), 2500), 500);
    assert.throws(() => constantRate(-1), PatternError);
  });
  it('a trace replays row by row, scaled, holding the last value across a gap', () => {
    const trace = parseTrace('t,rps\n60,1\n61,3\n63,2\n', 'x.csv');
    const p = traceRate(trace, 10);
    assert.deepEqual(p.timesMs, [0, 1000, 3000]);
    assert.equal(rateAt(p, 2500), 30, 'the gap at 62 s holds 3 rps × 10');
    assert.equal(expectedArrivals(p, 4000), 10 + 30 + 30 + 20);
    assert.match(p.label, /x\.csv ×10/);
  });
});
