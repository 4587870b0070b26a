/**
 * The CLI over the admin API against a real running luascale (process provider, demo backend):
 * status table, scale with a TTL, pause/resume, events, a broken policy reload refused with the
 * old policy still running, a wrong token, and an unreachable API.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { parseTrace } from '../../src/simulator/trace.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';

const backend = resolve('examples/demo-backend/server.mjs');
const dir = mkdtempSync(join(tmpdir(), 'ls-cli-'));
let app: LuascaleApp;

function cli(...args: string[]) {
  return runCli(...args);
}

before(async () => {
  writeFileSync(
    join(dir, 'seed.lua'),
    'local c = get_cpu_usage()\nif c > 80 then scale_up_instances() end\n',
  );
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0", token: "t0ken" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider:
      process: { command: ["${process.execPath}", "${backend}"], log_dir: "${dir}/logs", stop_grace: 3s }
    scaling: { min: 1, max: 3, policy: ./seed.lua }
`;
  app = await startApp({
    config: parseConfig(text, join(dir, 'luascale.yaml')),
    file: join(dir, 'luascale.yaml'),
    baseDir: dir,
  });
  // The first tick launches the first instance; the tests start once it is ready.
  const provider = app.providers.get('web')!;
  await new Promise<void>((done) => {
    if (provider.list().some((i) => i.state === 'ready')) return done();
    const off = provider.on('ready', () => (off(), done()));
  });
});
after(async () => {
  await app.close({ graceMs: 2000 });
  rmSync(dir, { recursive: true, force: true });
});

const conn = () => ['--admin', app.adminUrl, '--token', 't0ken'];

test('status prints a table with the service and its replicas', async () => {
  const r = await cli('status', ...conn());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^SERVICE\s+DESIRED\s+READY/m);
  assert.match(r.stdout, /^web\s+1\s/m);
  const j = await cli('status', '--json', ...conn());
  assert.equal(JSON.parse(j.stdout)[0].name, 'web');
});

test('scale with a TTL sets an override that the loop applies; "auto" clears it', async () => {
  const r = await cli('scale', 'web', '2', '--ttl', '10m', ...conn());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fixed at 2 for 10m/);
  const c = app.controllers.get('web')!;
  assert.equal(c.status().override?.replicas, 2);
  const d = await c.tick();
  assert.equal(d.reason, 'ManualOverride');
  assert.equal(d.replicas, 2);
  assert.equal((await cli('scale', 'web', 'auto', ...conn())).code, 0);
  assert.equal(c.status().override, null);
});

test('scale says it was clamped to max, and while paused that it waits for resume', async () => {
  const r = await cli('scale', 'web', '50', '--ttl', '10m', ...conn());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web: fixed at 3 (asked 50, clamped to max 3) for 10m\n');
  assert.equal((await cli('pause', 'web', ...conn())).code, 0);
  const p = await cli('scale', 'web', '2', ...conn());
  assert.match(p.stdout, /^web: fixed at 2 until cleared .*takes effect after `luascale resume web`\n$/);
  assert.equal((await cli('resume', 'web', ...conn())).code, 0);
  assert.equal((await cli('scale', 'web', 'auto', ...conn())).code, 0);
});

test('pause and resume reach the loop', async () => {
  assert.equal((await cli('pause', 'web', ...conn())).code, 0);
  assert.equal(app.controllers.get('web')!.status().paused, true);
  assert.equal((await cli('resume', 'web', ...conn())).code, 0);
  assert.equal(app.controllers.get('web')!.status().paused, false);
});

test('a policy reload with a syntax error exits 1 with file:line, and the old policy keeps running', async () => {
  const bad = join(dir, 'bad.lua');
  writeFileSync(bad, 'function decide(ctx)\n  return ctx.replicas +\nend\n');
  const before = app.controllers.get('web')!.spec.policy;
  const r = await cli('policy', 'reload', 'web', bad, ...conn());
  assert.equal(r.code, 1);
  // The user's file name, as given, in the error (not web.lua).
  assert.match(r.stderr, /LS_ERR_ADMIN_POLICY_REJECTED: .*bad\.lua:3: syntax error/);
  assert.equal(app.controllers.get('web')!.spec.policy, before);
  const good = join(dir, 'good.lua');
  writeFileSync(good, 'function decide(ctx) return 2 end\n');
  assert.equal((await cli('policy', 'reload', 'web', good, ...conn())).code, 0);
  assert.notEqual(app.controllers.get('web')!.spec.policy, before);
});

test('events lists recorded events; a wrong token is refused; an unreachable API exits 3', async () => {
  const e = await cli('events', '--json', '--limit', '5', ...conn());
  assert.equal(e.code, 0, e.stderr);
  assert.ok(e.stdout.trim().split('\n').length >= 1);
  const bad = await cli('status', '--admin', app.adminUrl, '--token', 'nope');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /LS_ERR_ADMIN_UNAUTHORIZED/);
  const down = await cli('status', '--admin', 'http://127.0.0.1:1');
  assert.equal(down.code, 3);
  assert.match(down.stderr, /cannot reach the admin API/);
});

test('history export writes the recorded request rate as a trace CSV the simulator reads', async () => {
  const r = await cli('history', 'export', '--service', 'web', '--window', '10m', ...conn());
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 't,rps');
  assert.ok(lines.length > 1, 'at least one recorded second');
  for (const l of lines.slice(1)) assert.match(l, /^\d+,\d+(\.\d+)?$/);
  assert.ok(parseTrace(r.stdout, 'export.csv'), 'the simulator parses it');
});
