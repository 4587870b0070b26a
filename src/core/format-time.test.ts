import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatInstant, formatSpan, formatUntil } from './format-time.js';

test('formatSpan: whole units, at most two, rounded up to the second', () => {
  const rows: Array<[number, string]> = [
    [0, '0 ms'],
    [250.4, '250 ms'],
    [1000, '1 s'],
    [57_000.4211, '58 s'],
    [60_000, '1 min'],
    [270_000, '4 min 30 s'],
    [3_600_000 + 300_000, '1 h 5 min'],
    [3 * 86_400_000 + 4 * 3_600_000, '3 d 4 h'],
  ];
  for (const [ms, want] of rows) assert.equal(formatSpan(ms), want, String(ms));
});

test('formatInstant: UTC clock time, with the date when the day differs from now', () => {
  const now = Date.UTC(2026, 11, 7, 12, 0, 0);
  assert.equal(formatInstant(now + 65_000.4211, now), '12:01:05Z');
  assert.equal(formatInstant(now + 86_400_000, now), '2026-12-08 12:00:00Z');
  assert.equal(formatUntil(now + 58_000, now), 'until 12:00:58Z (58 s left)');
});
