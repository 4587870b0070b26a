/** Exit codes of the README table outside the admin commands (issue 14, item 11). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
