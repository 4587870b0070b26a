import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulate } from '../../src/cli/commands/simulate.js';
import type { SimulateFlags } from '../../src/cli/simulate/simulate-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'luascale-token-cli-'));
const trace = join(dir, 'tokens.csv');
writeFileSync(
  trace,
  't,context_tokens,generated_tokens\r\n' +
    Array.from(
      { length: 300 },
      (_, i) => `${(i * 0.1).toFixed(3)},${500 + (i % 7) * 300},${5 + (i % 11)}`,
    ).join('\r\n'),
);

async function run(flags: Partial<SimulateFlags>) {
  let out = '';
  let err = '';
  const summaries = await runSimulate(
    { trace, set: [], progress: false, startup: '10', ...flags },
    { out: (s) => (out += s), err: (s) => (err += s), tty: false },
  );
  return { summaries, out, err };
}

test('simulate on a token trace: --json prints the token fields, one line per --compare policy', async () => {
  const { out } = await run({
    compare: 'builtin:keda-llm-waiting,builtin:llm-slo',
    json: true,
    ttftSloMs: '1500',
  });
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l.policy),
    ['builtin:keda-llm-waiting', 'builtin:llm-slo'],
  );
  for (const l of lines) {
    for (const f of [
      'replica_hours',
      'ttft_p50_ms',
      'ttft_p95_ms',
      'ttft_p99_ms',
      'ttft_slo_violation_seconds',
      'tokens_served',
      'requests_dropped',
    ])
      assert.equal(typeof l[f], 'number', f);
    assert.equal(l.ttft_slo_ms, 1500);
    assert.equal(l.total_requests, 300);
  }
});

test('simulate on a token trace: the table shows the token rows; --report writes the charts page', async () => {
  const report = join(dir, 'r.html');
  const { out } = await run({ policy: 'builtin:llm-saturation', report });
  assert.match(out, /token trace/);
  assert.match(out, /TTFT-SLO-violation seconds/);
  assert.match(out, /replica-hours/);
  assert.match(readFileSync(report, 'utf8'), /<html/i);
});

test('simulate --engine: inline JSON over the default engine; a bad setting is one line naming it', async () => {
  const slow = await run({ policy: 'builtin:hpa', engine: '{"prefillPerTokenMs":1}', json: true });
  const fast = await run({ policy: 'builtin:hpa', json: true });
  const p50 = (r: typeof slow) => (r.summaries[0] as unknown as Record<string, number>).ttft_p50_ms!;
  assert.ok(p50(slow) > 2 * p50(fast), `${p50(slow)} vs ${p50(fast)}`);
  await assert.rejects(
    run({ policy: 'builtin:hpa', engine: '{"maxNumSeq":4}' }),
    /--engine: maxNumSeq: unknown setting/,
  );
  await assert.rejects(run({ policy: 'builtin:hpa', engine: '{"itlMs":0}' }), /--engine: itlMs must be > 0/);
});
