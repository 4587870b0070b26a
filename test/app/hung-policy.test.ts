/**
 * A Lua policy that hangs inside one C call (a pathological pattern: no instruction hook fires)
 * runs in the sandbox worker: the tick ends with PolicyError (wall-clock limit) and the count held,
 * and the gateway on the main thread keeps answering throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

test(
  'a hung Lua policy never blocks the gateway: PolicyError, count held, requests still served',
  { timeout: 60_000 },
  async () => {
    const upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-hang-'));
    writeFileSync(
      join(dir, 'hang.lua'),
      'function decide(ctx)\n  local s = string.rep("a", 40000)\n  return string.find(s, ".-.-.-.-.-.-.-.-b") and 2 or 1\nend\n',
    );
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/h.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, policy: ./hang.lua, limits: { timeout: 3s } }
`;
    const app = await startApp({
      config: parseConfig(text, join(dir, 'luascale.yaml')),
      file: join(dir, 'luascale.yaml'),
      baseDir: dir,
    });
    try {
      const c = app.controllers.get('web')!;
      let decided = false;
      const ticking = c.tick().then((d) => ((decided = true), d));
      // While the worker is stuck in the pattern match (up to its 3 s limit), the gateway answers on this thread.
      const res = await request(`${app.gatewayUrl}/`);
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'ok');
      assert.equal(decided, false, 'the request was served while the policy was still hung');
      const d = await ticking;
      assert.equal(d.reason, 'PolicyError');
      assert.match(d.message, /hang\.lua.*wall-clock limit of 3000 ms/);
    } finally {
      await app.close({ graceMs: 1000 });
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
