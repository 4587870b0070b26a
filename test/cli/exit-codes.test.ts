/** Exit codes of the README table outside the admin commands (issue 14, item 11). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';

test('inline --input that is not JSON is a usage error (2); an @file that cannot be read is a user error (1)', async () => {
  const inline = await runCli('eval', 'builtin:hpa', '--input', '{bad');
  assert.equal(inline.code, 2, inline.stderr);
  assert.match(inline.stderr, /^error: --input: invalid JSON/);
  const file = await runCli('eval', 'builtin:hpa', '--input', '@/nonexistent/input.json');
  assert.equal(file.code, 1, file.stderr);
  assert.match(file.stderr, /^error: \/nonexistent\/input\.json: cannot read \(ENOENT\)\n$/);
});

test('an unknown command or option is a usage error (2)', async () => {
  assert.equal((await runCli('nope')).code, 2);
  assert.equal((await runCli('status', '--nope')).code, 2);
});

test('a bad argument value of eval, check and demo is a usage error (2); a missing file is 1', async () => {
  const usage: string[][] = [
    ['eval', 'builtin:nope', '--input', '{}'],
    ['eval', 'builtin:hpa', '--input', '{"min":-1}'],
    ['check', 'luascale.txt'],
    ['demo', '--duration', '0'],
    ['demo', '--rps', 'lots'],
    ['demo', '--policy', 'builtin:nope'],
  ];
  for (const args of usage) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: [^\n]+\n$/, args.join(' '));
  }
  assert.match(
    (await runCli('demo', '--burn-ms', '-1')).stderr,
    /^error: --burn-ms: must be a positive number, got "-1"\n$/,
  );
  assert.match((await runCli('check', 'x.txt')).stderr, /^error: x\.txt: expected a \.lua policy/);

  // Files and their contents are not argument values: exit 1, naming the file.
  const missing = await runCli('eval', 'missing.lua', '--input', '{}');
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /missing\.lua: policy file not found/);
  const dir = mkdtempSync(join(tmpdir(), 'ls-exit-'));
  try {
    const input = join(dir, 'input.json');
    writeFileSync(input, '{"min":-1}');
    const fromFile = await runCli('eval', 'builtin:hpa', '--input', `@${input}`);
    assert.equal(fromFile.code, 1, fromFile.stderr);
    assert.equal(fromFile.stderr, `error: ${input}/min: must be a whole number >= 0, got -1\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A policy that fails its trial is a failed check (1), whatever the spelling.
  assert.equal((await runCli('check', 'builtin:nope')).code, 1);
});
