/**
 * Editor support for Lua policies (issue 18): templates/init/luascale.meta.lua (LuaLS annotations),
 * .luarc.json and .luacheckrc are generated from the signal catalogue (test/generated.test.ts keeps
 * them in sync). Here: the meta file names every catalogue signal and every sandbox global, each
 * global it declares exists in the sandbox, and luacheck (Debian's lua-check, installed by
 * .ci/run) run with the generated .luacheckrc passes every example and flags the usual mistakes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SIGNALS } from '../../src/signals/index.js';
import { loadPolicy } from '../../src/controller/load-policy.js';
import { completeObservation, emptyHistory } from '../../src/policy/policy.js';
import { luacheckrc, luaMetaFile, policyGlobals } from '../../scripts/lua-meta.js';

const META = luaMetaFile();

test('the meta file types every catalogue signal on ctx and as a metric name', () => {
  for (const s of SIGNALS) {
    assert.ok(META.includes(`---| "${s.name}" # `), `alias lacks ${s.name}`);
    const leaf = s.name.split('.').pop()!;
    // an optional signal (llm.*) may be nil: number?
    assert.match(META, new RegExp(`---@field ${leaf} (number|integer)\\?? `), s.name);
    if ('getter' in s) assert.match(META, new RegExp(`function ${s.getter}\\(\\) end`));
  }
  assert.match(META, /---@class \(exact\) luascale\.Ctx/);
  assert.match(META, /---@field history fun\(metric: luascale\.Metric, seconds: number\): number\[\]/);
  assert.match(META, /---@return number\|luascale\.Result\nfunction decide\(ctx\) end/);
});

test('every global the meta file declares is a function in the sandbox', async () => {
  const declared = [...META.matchAll(/^function (\w+)\(/gm)].map((m) => m[1]!).filter((n) => n !== 'decide');
  assert.deepEqual(declared.sort(), [...policyGlobals()].sort());
  const checks = declared
    .map((n) => `if type(${n}) ~= "function" then error("${n} is " .. type(${n})) end`)
    .join('\n');
  const policy = await loadPolicy({
    source: `${checks}\nfunction decide(ctx) return 1 end\n`,
    name: 'globals.lua',
  });
  try {
    const o = policy.evaluate({
      service: 's',
      now: 1000,
      min: 1,
      max: 10,
      observation: completeObservation({ replicas: 1 }),
      params: {},
      state: {},
      history: emptyHistory,
    });
    assert.ok(o.ok, o.ok ? '' : o.error);
  } finally {
    policy.close?.();
  }
});

const luacheck = spawnSync('luacheck', ['--version'], { encoding: 'utf8' });
const hasLuacheck = luacheck.status === 0;

test(
  'luacheck with the generated .luacheckrc passes every example and flags a forgotten local and a misspelled helper',
  { skip: !hasLuacheck && 'luacheck is not installed (apt-get install lua-check; .ci/run installs it)' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-luacheck-'));
    try {
      const rc = join(dir, '.luacheckrc');
      writeFileSync(rc, luacheckrc());
      const examples = readdirSync('examples/policies')
        .filter((f) => f.endsWith('.lua'))
        .map((f) => resolve('examples/policies', f));
      const ok = spawnSync('luacheck', ['--config', rc, '--no-color', ...examples], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stdout);
      assert.match(ok.stdout, new RegExp(`Total: 0 warnings / 0 errors in ${examples.length} files`));
      const bad = join(dir, 'bad.lua');
      writeFileSync(
        bad,
        'function decide(ctx)\n  log = "scaled at " .. ctx.cpu\n  peak = get_cpu_usag()\n  return ctx.replicas\nend\n',
      );
      const r = spawnSync('luacheck', ['--config', rc, '--no-color', '--codes', bad], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stdout, /bad\.lua:2:3: \(W121\) setting read-only global variable 'log'/);
      assert.match(r.stdout, /bad\.lua:3:3: \(W111\) setting non-standard global variable 'peak'/);
      assert.match(r.stdout, /bad\.lua:3:10: \(W113\) accessing undefined variable 'get_cpu_usag'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('luascale init scaffolds the meta file, .luarc.json and .luacheckrc', async () => {
  const { scaffold } = await import('../../src/cli/commands/init.js');
  const dir = mkdtempSync(join(tmpdir(), 'ls-init-meta-'));
  try {
    scaffold(dir);
    assert.equal(readFileSync(join(dir, 'luascale.meta.lua'), 'utf8'), META);
    const luarc = JSON.parse(readFileSync(join(dir, '.luarc.json'), 'utf8'));
    assert.deepEqual(luarc['workspace.library'], ['luascale.meta.lua']);
    assert.equal(readFileSync(join(dir, '.luacheckrc'), 'utf8'), luacheckrc());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
