/** `luascale init` into a path blocked by a file: one line, exit 1, nothing written (issue 14, item 9). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'ls-cli-init-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a file where policies/ goes: one line naming it, and not even luascale.yaml is written', async () => {
  const dir = join(root, 'a');
  mkdirSync(dir);
  writeFileSync(join(dir, 'policies'), 'not a folder');
  const r = await runCli('init', dir);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `error: init ${dir}: ${join(dir, 'policies')} is a file, not a folder; nothing was written\n`,
  );
  assert.deepEqual(readdirSync(dir), ['policies']);
});

test('the target itself is a file, or a folder sits where a file goes: nothing written', async () => {
  const file = join(root, 'plain-file');
  writeFileSync(file, '');
  const r = await runCli('init', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /plain-file is a file, not a folder; nothing was written\n$/);
  const dir = join(root, 'b');
  mkdirSync(join(dir, 'app', 'server.mjs'), { recursive: true });
  const f = await runCli('init', dir, '--force');
  assert.equal(f.code, 1);
  assert.match(f.stderr, /server\.mjs is a folder, not a file; nothing was written\n$/);
  assert.equal(existsSync(join(dir, 'luascale.yaml')), false);
});

test('an empty folder is scaffolded', async () => {
  const dir = join(root, 'c');
  const r = await runCli('init', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'luascale.yaml')));
  assert.ok(existsSync(join(dir, 'policies', 'latency-slo.lua')));
});
