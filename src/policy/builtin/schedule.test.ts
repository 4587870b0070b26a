import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule } from './schedule.js';
import { parseCron, cronFields } from './cron.js';
import { loadBuiltin } from '../builtins.js';
import { testContext } from '../../../test/helpers/policy-context.js';
import { isLuascaleError } from '../../core/errors.js';

const at = (iso: string) => Date.parse(iso);

test('parseCron: lists, ranges, steps, names and the either-day rule of crontab(5)', () => {
  const weekdays9 = parseCron('0 9 * * mon-fri');
  assert.equal(weekdays9.matches(cronFields(at('2026-01-05T09:00:00Z'), 'UTC')), true); // Monday
  assert.equal(weekdays9.matches(cronFields(at('2026-01-04T09:00:00Z'), 'UTC')), false); // Sunday
  const every15 = parseCron('*/15 * * * *');
  assert.equal(every15.matches(cronFields(at('2026-01-04T10:45:00Z'), 'UTC')), true);
  assert.equal(every15.matches(cronFields(at('2026-01-04T10:46:00Z'), 'UTC')), false);
  const either = parseCron('0 0 1 * 1'); // the 1st of the month OR a Monday
  assert.equal(either.matches(cronFields(at('2026-01-05T00:00:00Z'), 'UTC')), true);
  assert.equal(either.matches(cronFields(at('2026-01-01T00:00:00Z'), 'UTC')), true);
  assert.equal(
    parseCron('0 0 * * 7').matches(cronFields(at('2026-01-04T00:00:00Z'), 'UTC')),
    true,
    '7 is Sunday',
  );
});

test('parseCron rejects malformed expressions naming the field', () => {
  assert.throws(() => parseCron('0 9 * *'), /expected 5 fields/);
  assert.throws(() => parseCron('61 * * * *'), /minute: 61 is outside 0-59/);
  assert.throws(() => parseCron('0 9 * * funday'), /day of week/);
});

test('cronFields honours an IANA time zone', () => {
  // 2026-07-01 07:00 UTC is 09:00 in Paris (CEST)
  const f = cronFields(at('2026-07-01T07:00:00Z'), 'Europe/Paris');
  assert.equal(f.hour, 9);
  assert.equal(f.minute, 0);
});

test('schedule: inside a window the recommendation is clamped into its min/max; outside, current', () => {
  const p = schedule({ windows: [{ cron: '0 9 * * mon-fri', duration: '8h', min: 5, max: 8 }] }, loadBuiltin);
  const state: Record<string, unknown> = {};
  const inside = p.evaluate(
    testContext({ replicas: 2, ready: 2 }, { now: at('2026-01-05T10:30:00Z'), state }),
  );
  assert.ok(inside.ok);
  assert.equal(inside.replicas, 5);
  assert.equal(inside.detail?.min, 5);
  assert.equal(inside.detail?.max, 8);
  const high = p.evaluate(
    testContext({ replicas: 12, ready: 12 }, { now: at('2026-01-05T16:59:00Z'), state }),
  );
  assert.ok(high.ok);
  assert.equal(high.replicas, 8);
  const after = p.evaluate(
    testContext({ replicas: 8, ready: 8 }, { now: at('2026-01-05T17:00:00Z'), state }),
  );
  assert.ok(after.ok);
  assert.equal(after.replicas, 8);
  assert.equal(after.detail?.window, null);
});

test('schedule: a window opened before a restart is found by looking back', () => {
  const p = schedule({ windows: [{ cron: '0 9 * * *', duration: '2h', replicas: 4 }] }, loadBuiltin);
  const out = p.evaluate(testContext({ replicas: 1, ready: 1 }, { now: at('2026-01-05T10:59:00Z') }));
  assert.ok(out.ok);
  assert.equal(out.replicas, 4);
});

test('schedule delegates to the inner policy outside windows and clamps it inside', () => {
  const p = loadBuiltin('schedule', {
    windows: [{ cron: '0 12 * * *', duration: '1h', min: 10 }],
    inner: { builtin: 'target-tracking', params: { metric: 'rps', target: 100 } },
  });
  const outside = p.evaluate(
    testContext({ rps: 350, replicas: 2, ready: 2 }, { now: at('2026-01-05T11:00:00Z') }),
  );
  assert.ok(outside.ok);
  assert.equal(outside.replicas, 4);
  const inside = p.evaluate(
    testContext({ rps: 350, replicas: 2, ready: 2 }, { now: at('2026-01-05T12:30:00Z') }),
  );
  assert.ok(inside.ok);
  assert.equal(inside.replicas, 10);
  assert.equal(inside.detail?.inner, 4);
});

test('schedule params: bad cron, zone, window bounds and nested schedules are rejected', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [
      { windows: [{ cron: '0 25 * * *', duration: '1h', min: 1 }] },
      /windows\[0\]\.cron: .*hour: 25 is outside 0-23/,
    ],
    [
      { timezone: 'Mars/Olympus', windows: [{ cron: '0 9 * * *', duration: '1h', min: 1 }] },
      /timezone: unknown time zone/,
    ],
    [
      { windows: [{ cron: '0 9 * * *', duration: '1h', min: 5, max: 2 }] },
      /windows\[0\]\.max: must be >= min \(5\)/,
    ],
    [{ windows: [{ cron: '0 9 * * *', duration: '1h' }] }, /set min, max or replicas/],
    [
      { windows: [{ cron: '0 9 * * *', duration: '1h', min: 1 }], inner: { builtin: 'schedule' } },
      /cannot wrap another schedule/,
    ],
    [
      { windows: [{ cron: '0 9 * * *', duration: '1h', min: 1 }], inner: { builtin: 'nope' } },
      /unknown built-in policy "nope"/,
    ],
  ];
  for (const [params, re] of bad) {
    assert.throws(
      () => loadBuiltin('schedule', params),
      (e: unknown) => isLuascaleError(e) && re.test((e as Error).message),
      JSON.stringify(params),
    );
  }
});
