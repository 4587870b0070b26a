/** `simulate`'s exit codes: 0 ok, 1 a file to fix, 2 a bad argument, 4 a policy that failed while the run completed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/main.js';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sim-exit-'));
const trace = join(dir, 't.csv');
writeFileSync(trace, 't,rps\n0,50\n60,80\n');
const failing = join(dir, 'failing.lua');
writeFileSync(
  failing,
  'function decide(ctx)\n  if ctx.now % 10000 == 0 then error("boom") end\n  return ctx.replicas\nend\n',
);

test('a policy that fails during the run exits 4 after the full output; the others keep 0, 1 and 2', async () => {
  const ok = await runCli('simulate', '--trace', trace, '--policy', 'builtin:hpa', '--json');
  assert.equal(ok.code, EXIT.ok, ok.stderr);
  const bad = await runCli('simulate', '--trace', trace, '--compare', `builtin:hpa,${failing}`, '--json');
  assert.equal(EXIT.policy, 4);
  assert.equal(bad.code, EXIT.policy, bad.stderr);
  assert.equal(bad.stdout.trim().split('\n').length, 2, 'both summaries printed');
  assert.match(
    bad.stderr,
    /^error: policy errors \(decisions that fell back to PolicyError\): .*failing\.lua 12 of 120\n$/,
  );
  const row = join(dir, 'row.csv');
  writeFileSync(row, 't,rps\n0,50\n60,lots\n');
  const user = await runCli('simulate', '--trace', row, '--policy', failing);
  assert.equal(user.code, EXIT.user);
  assert.match(user.stderr, /^error: .*row\.csv:3: rps is not a number: "lots"\n$/);
  const usage = await runCli('simulate', '--trace', trace, '--policy', failing, '--capacity', 'lots');
  assert.equal(usage.code, EXIT.usage);
});

test('a --report that cannot be written fails before the run, not after it (exit 1, nothing printed)', async () => {
  const r = await runCli(
    'simulate',
    '--trace',
    trace,
    '--policy',
    'builtin:hpa',
    '--report',
    join(dir, 'no', 'such', 'r.html'),
  );
  assert.equal(r.code, EXIT.user);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: .*r\.html: cannot write report: .*ENOENT/m);
});
