import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { onCrash, DEFAULT_CRASH_BACKOFF } from '../../src/providers/crash-backoff.js';
import { cpuPercent, parseProcStat, parseStatmResidentPages } from '../../src/providers/proc-stat.js';
import { cmdlineMatches } from '../../src/providers/process-provider.js';

describe('onCrash (back-off)', () => {
  const o = {
    ...DEFAULT_CRASH_BACKOFF,
    initialMs: 1000,
    maxMs: 5000,
    factor: 2,
    resetAfterMs: 60_000,
    loopThreshold: 3,
  };
  const table: Array<[string, number, number, { crashes: number; delayMs: number; crashLoop: boolean }]> = [
    ['first crash is replaced at once', 0, 0, { crashes: 1, delayMs: 0, crashLoop: false }],
    ['second crash waits initialMs', 1, 0, { crashes: 2, delayMs: 1000, crashLoop: false }],
    ['third crash doubles and is a crash loop', 2, 10, { crashes: 3, delayMs: 2000, crashLoop: true }],
    ['the delay is capped at maxMs', 9, 0, { crashes: 10, delayMs: 5000, crashLoop: true }],
    ['ready for resetAfterMs resets the count', 9, 60_000, { crashes: 1, delayMs: 0, crashLoop: false }],
    ['ready for less does not', 9, 59_999, { crashes: 10, delayMs: 5000, crashLoop: true }],
  ];
  for (const [name, previous, readyFor, expected] of table) {
    it(name, () => assert.deepEqual(onCrash(previous, readyFor, o), expected));
  }
});

describe('proc-stat parsing', () => {
  it('parses a stat line whose comm holds spaces and parentheses', () => {
    const line =
      '4242 (my (odd) name) S 1 4242 4242 0 -1 4194304 100 0 0 0 150 50 0 0 20 0 1 0 999 1000 10 0 0\n';
    assert.deepEqual(parseProcStat(line), {
      pid: 4242,
      state: 'S',
      ppid: 1,
      pgid: 4242,
      cpuTicks: 200,
      startTime: 999,
    });
  });
  it('rejects truncated or garbage input', () => {
    assert.equal(parseProcStat('garbage'), undefined);
    assert.equal(parseProcStat('12 (x) S 1 2'), undefined);
  });
  it('reads resident pages from statm', () => {
    assert.equal(parseStatmResidentPages('1000 250 30 1 0 90 0\n'), 250);
    assert.equal(parseStatmResidentPages(''), undefined);
  });
  it('cpuPercent is ticks over CLK_TCK over elapsed seconds', () => {
    assert.equal(cpuPercent(undefined, { at: 1000, cpuTicks: 50, rssBytes: 0 }), 0);
    assert.equal(
      cpuPercent({ at: 0, cpuTicks: 0, rssBytes: 0 }, { at: 1000, cpuTicks: 50, rssBytes: 0 }),
      50,
    );
    assert.equal(
      cpuPercent({ at: 0, cpuTicks: 0, rssBytes: 0 }, { at: 500, cpuTicks: 100, rssBytes: 0 }),
      200,
    );
    assert.equal(
      cpuPercent({ at: 0, cpuTicks: 90, rssBytes: 0 }, { at: 1000, cpuTicks: 10, rssBytes: 0 }),
      0,
      'a member exiting never gives negative CPU',
    );
    assert.equal(cpuPercent({ at: 5, cpuTicks: 0, rssBytes: 0 }, { at: 5, cpuTicks: 10, rssBytes: 0 }), 0);
  });
});

describe('cmdlineMatches', () => {
  it('matches the exact argv, or the same arguments behind a shebang interpreter', () => {
    assert.equal(cmdlineMatches(['node', 'app.js', '-v'], ['node', 'app.js', '-v']), true);
    assert.equal(cmdlineMatches(['node', './app'], ['./app']), true);
    assert.equal(cmdlineMatches(['/usr/bin/node', './other'], ['./app']), false);
    assert.equal(cmdlineMatches(['/usr/bin/python3', '/srv/app', 'x'], ['/srv/app', 'x']), true);
    assert.equal(cmdlineMatches(['node', 'other.js'], ['node', 'app.js']), false);
    assert.equal(cmdlineMatches(['bash'], ['node', 'app.js']), false);
  });
});
