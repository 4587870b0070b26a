/**
 * The service page's AI charts (issue 19), DOM-free: a `signals` event with the catalogue's
 * `llm.*` signals gives the tokens and time-to-first-token charts their lines; one without them
 * gives those charts no lines, so they stay hidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHARTS, sampleOf } from '../../src/admin/dashboard/service-page.js';
import type { LiveSignals } from '../../src/admin/dashboard/api-types.js';

const base = {
  cpu: 40,
  memory: 30,
  rps: 12,
  inflight: 2,
  queue: 0,
  shed_rps: 0,
  error_rate: 0,
  latency: { p50: 10, p95: 20, p99: 30 },
  replicas: { desired: 2, ready: 2, starting: 0, draining: 0 },
} as unknown as LiveSignals;

const chart = (id: string) => CHARTS.find((c) => c.id === id)!;

test('an AI service charts tokens in/out per second and TTFT p50/p95 from its llm.* signals', () => {
  const s = {
    ...base,
    llm: { tokens_in_rps: 1200, tokens_out_rps: 340, ttft: { p50: 85, p95: 310 } },
  } as unknown as LiveSignals;
  const v = sampleOf(s);
  const keys = Object.keys(v);
  const tokens = chart('tokens').series(keys);
  assert.deepEqual(
    tokens.map((d) => [d.label, v[d.key]]),
    [
      ['tokens in', 1200],
      ['tokens out', 340],
    ],
  );
  const ttft = chart('ttft').series(keys);
  assert.equal(chart('ttft').unit, 'ms');
  assert.deepEqual(
    ttft.map((d) => [d.label, v[d.key]]),
    [
      ['ttft p50', 85],
      ['ttft p95', 310],
    ],
  );
  // The request-latency chart keeps its own p50/p95, not the TTFT values.
  assert.deepEqual(
    chart('latency')
      .series(keys)
      .map((d) => v[d.key]),
    [10, 20, 30],
  );
});

test('a service without llm.* signals has no AI chart lines, and those charts hide', () => {
  const keys = Object.keys(sampleOf(base));
  for (const id of ['tokens', 'ttft']) {
    assert.deepEqual(chart(id).series(keys), []);
    assert.equal(chart(id).optional, true);
  }
  // The other charts are not hidden when empty (cpu unknown still shows its chart).
  assert.ok(CHARTS.filter((c) => c.optional).every((c) => ['tokens', 'ttft'].includes(c.id)));
});
