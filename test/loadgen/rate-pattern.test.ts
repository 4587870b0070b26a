import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  constantRate,
  expectedArrivals,
  parsePattern,
  PatternError,
  rateAt,
  traceRate,
} from '../../src/loadgen/rate-pattern.js';
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
    it(`accepts "${text}"`, () =>
      assert.deepEqual(
        { ...parsePattern(text), label: undefined },
        { kind, timesMs, rates, label: undefined },
      ));
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
      assert.throws(
        () => parsePattern(text),
        (err) => err instanceof PatternError && message.test(err.message),
      ));
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

describe('rate patterns under arbitrary input (fast-check, seed 4242)', () => {
  it('parsePattern returns a valid pattern or throws a PatternError, never anything else', async () => {
    const fc = (await import('fast-check')).default;
    const piece = fc.oneof(
      fc.constantFrom('step:', 'ramp:', 'const:', '@', ',', 's', 'ms', 'm', '.', '-', ' ', 'x'),
      fc.nat(200).map(String),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(piece, { maxLength: 12 }).map((a) => a.join('')),
        ),
        (text) => {
          try {
            const p = parsePattern(text);
            assert.equal(p.timesMs.length, p.rates.length);
            assert.equal(p.timesMs[0], 0);
            for (let i = 1; i < p.timesMs.length; i++) assert.ok(p.timesMs[i]! > p.timesMs[i - 1]!);
            assert.ok(p.rates.every((r) => Number.isFinite(r) && r >= 0));
          } catch (err) {
            if (!(err instanceof PatternError)) throw err;
          }
        },
      ),
      { seed: 4242, numRuns: 2000 },
    );
  });

  it('expectedArrivals is non-decreasing in time for any valid pattern', async () => {
    const fc = (await import('fast-check')).default;
    const pattern = fc
      .tuple(
        fc.constantFrom('step', 'ramp'),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 6 }),
      )
      .map(([kind, rates]) =>
        parsePattern(
          `${kind}:${rates.join(',')}@${rates
            .slice(1)
            .map((_, i) => `${(i + 1) * 7}s`)
            .join(',')}`
            .replace(/@$/, '@1s')
            .replace(/^(step|ramp):(\d+)@1s$/, '$2'),
        ),
      );
    fc.assert(
      fc.property(
        pattern,
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 2, maxLength: 20 }),
        (p, ts) => {
          const sorted = [...ts].sort((a, b) => a - b);
          for (let i = 1; i < sorted.length; i++) {
            assert.ok(expectedArrivals(p, sorted[i]!) >= expectedArrivals(p, sorted[i - 1]!) - 1e-9);
          }
        },
      ),
      { seed: 4242, numRuns: 500 },
    );
  });
});
