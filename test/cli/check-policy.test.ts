/** `luascale check` on policies: scaling.params from the config, metric names, --params and --input (issue 18). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-check-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A policy that fails (arithmetic on nil) unless ctx.params.target is given. */
const NEEDS_TARGET =
  'function decide(ctx)\n  return math.ceil(math.max(ctx.ready, 1) * ctx.cpu / ctx.params.target)\nend\n';

function config(policy: string, extra = ''): string {
  return `services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    scaling:
      policy: ./${policy}
      params: { target: 60 }
${extra}`;
}

test("item 10: check luascale.yaml passes the service's scaling.params to a Lua policy", async () => {
  writeFileSync(join(dir, 'target.lua'), NEEDS_TARGET);
  writeFileSync(join(dir, 'a.yaml'), config('target.lua'));
  const r = await runCli('check', join(dir, 'a.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /target\.lua: ok \(trial evaluations recommend: typical load 2, /);
  // The same file alone has no params: it fails, naming the line and the trial point.
  const alone = await runCli('check', join(dir, 'target.lua'));
  assert.equal(alone.code, 1);
  assert.match(alone.stderr, /target\.lua:2: .*nil.*\(trial: typical load\)/);
});

test('--params gives a lone policy its ctx.params; --input adds a trial point, checked against the schema', async () => {
  const file = join(dir, 'target.lua');
  writeFileSync(file, NEEDS_TARGET);
  const ok = await runCli('check', file, '--params', '{"target":60}', '--input', '{"cpu":90,"ready":3}');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /with an SLO 2, --input 5\)/);
  const typo = await runCli('check', file, '--params', '{"target":60}', '--input', '{"cpu_usage":90}');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /--input cpu_usage: unknown key; did you mean "cpu"\?/);
  assert.equal((await runCli('check', file, '--params', '[1]')).code, 2);
});

test('item 5: literal metric names unknown to the catalogue and the config fail check luascale.yaml, with line and hint', async () => {
  writeFileSync(
    join(dir, 'names.lua'),
    [
      '-- get_metric("in a comment") is not code',
      'function decide(ctx)',
      '  local l = get_metric("latncy.p95") or 0',
      '  local h = ctx.history("rsp", 60)',
      '  local f = ctx:forecast("rps", 60) + (get_metric("qdepth") or 0)',
      '  return ctx.replicas',
      'end',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'b.yaml'),
    config(
      'names.lua',
      '    metrics: [{ name: qdepth, http: { url: "http://127.0.0.1:1/q", json_path: "$.n" } }]\n',
    ),
  );
  const r = await runCli('check', join(dir, 'b.yaml'));
  assert.equal(r.code, 1, r.stdout);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(
    lines[0]!,
    /names\.lua:3: unknown metric "latncy\.p95" in get_metric\(\).*did you mean "latency\.p95"\?/,
  );
  assert.match(
    lines[1]!,
    /names\.lua:4: unknown metric "rsp" in history\(\), which answers \{\} for it; did you mean "rps"\?/,
  );
  // Alone, the file may use custom metrics the check cannot see: warnings, and the trial decides.
  const alone = await runCli('check', join(dir, 'names.lua'));
  assert.equal(alone.code, 0, alone.stderr);
  assert.equal((alone.stderr.match(/^warning: /gm) ?? []).length, 3, alone.stderr); // latncy.p95, rsp, qdepth
});
