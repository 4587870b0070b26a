/**
 * Regression (issue 14, item 7): `PUT /v1/services/{name}/policy` (`luascale policy reload`)
 * installed policies that fail when run — a runtime error, a bad return value, an endless loop —
 * answered 200, and the service got PolicyError every tick; every reloaded policy was called
 * `web.lua`. Now a reload runs check's trial evaluations plus one on the service's current
 * observation, answers 422 LS_ERR_ADMIN_POLICY_REJECTED naming the user's file and line, and keeps
 * the old policy; a built-in can be switched to, with its params validated as the config does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';

describe('policy hot reload', () => {
  let upstream: Server;
  let app: LuascaleApp;
  let dir: string;
  const logs: string[] = [];

  before(async () => {
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'ls-reload-'));
    // The running policy keeps a table in ctx.state: a new policy that cannot read it fails only on
    // the service's current observation, never on the trial's fixed points (whose state is empty).
    writeFileSync(
      join(dir, 'old.lua'),
      'function decide(ctx)\n  ctx.state.seen = true\n  return ctx.replicas\nend\n',
    );
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/r.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, interval: 1h, policy: ./old.lua }
`;
    app = await startApp(
      {
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      },
      { log: (l) => logs.push(l) },
    );
    await app.controllers.get('web')!.tick();
  });

  after(async () => {
    await app.close({ graceMs: 500 });
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = async (body: unknown) => {
    const res = await request(`${app.adminUrl}/v1/services/web/policy`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };
  const running = async () => {
    const res = await request(`${app.adminUrl}/v1/services/web`);
    return ((await res.body.json()) as { policy: string }).policy;
  };

  const rejected: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a runtime error on overload',
      {
        source:
          'function decide(ctx)\n  if ctx.queue > 100 then error("queue too long") end\n  return 2\nend\n',
        file: 'policies/queue.lua',
      },
      /policies\/queue\.lua:2: queue too long \(trial: overload\)/,
    ],
    [
      'a bad return value',
      { source: 'function decide(ctx)\n  return "two"\nend\n', file: 'policies/bad.lua' },
      /policies\/bad\.lua:\d+: bad result: .*string/,
    ],
    [
      'NaN for fractional values',
      {
        source: 'function decide(ctx)\n  if ctx.cpu % 1 ~= 0 then return 0/0 end\n  return 2\nend\n',
        file: 'nan.lua',
      },
      /nan\.lua:\d+: bad result.*\(trial: fractional values\)/,
    ],
    [
      'an endless loop',
      { source: 'function decide(ctx)\n  while true do end\nend\n', file: 'policies/loop.lua' },
      /policies\/loop\.lua:2: instruction budget of \d+ exceeded/,
    ],
    [
      'an error only on the current observation (its state)',
      {
        source:
          'function decide(ctx)\n  if ctx.state.seen then return ctx.state.seen.count + 1 end\n  return 2\nend\n',
      },
      /web\.lua:2: .*\(trial: the current observation\)/,
    ],
    [
      'a syntax error',
      { source: 'function decide(ctx)\n  return (\nend\n', file: 'syn.lua' },
      /syn\.lua:3: syntax error/,
    ],
    ['an unknown built-in', { builtin: 'nope' }, /unknown built-in policy "nope"/],
    [
      'bad built-in params',
      { builtin: 'hpa', params: { target: 'high' } },
      /builtin:hpa: bad params: .*target/,
    ],
  ];
  for (const [what, body, message] of rejected) {
    it(`rejects ${what} with 422, keeping the old policy`, async () => {
      const before = logs.length;
      const res = await put(body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'LS_ERR_ADMIN_POLICY_REJECTED');
      assert.match(res.body.error.message, message);
      assert.match(res.body.error.message, /the old one keeps running/);
      assert.match(await running(), /\/old\.lua$/);
      const d = await app.controllers.get('web')!.tick();
      assert.notEqual(d.reason, 'PolicyError', d.message);
      assert.ok(
        logs.slice(before).some((l) => /^web: policy reload rejected/.test(l)),
        `logged: ${logs.slice(before)}`,
      );
    });
  }

  it('installs a good policy under the file name given, in status, events and errors', async () => {
    const res = await put({
      source: 'function decide(ctx)\n  if ctx.replicas > 50 then error("too many") end\n  return 2\nend\n',
      file: 'policies/two.lua',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.policy, 'policies/two.lua');
    assert.equal(await running(), 'policies/two.lua');
    const d = await app.controllers.get('web')!.tick();
    assert.equal(d.policy.name, 'policies/two.lua');
    assert.equal(d.policy.outcome.ok && d.policy.outcome.replicas, 2);
    const events = await request(`${app.adminUrl}/v1/events?service=web&limit=1000`).then(
      (r) => r.body.json() as Promise<{ events: Array<{ type: string; data: { policy?: string } }> }>,
    );
    assert.ok(
      events.events.some((e) => e.type === 'policy' && e.data.policy === 'policies/two.lua'),
      JSON.stringify(events.events.filter((e) => e.type === 'policy')),
    );
  });

  it('switches to a built-in, validating its params', async () => {
    const res = await put({ builtin: 'hpa', params: { metric: 'cpu', target: 60 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.policy, 'builtin:hpa');
    assert.equal(await running(), 'builtin:hpa');
    const d = await app.controllers.get('web')!.tick();
    assert.equal(d.policy.name, 'builtin:hpa');
    assert.notEqual(d.reason, 'PolicyError', d.message);
    assert.ok(
      logs.some((l) => l === 'web: policy reloaded, now running builtin:hpa'),
      logs.join('\n'),
    );
  });
});
