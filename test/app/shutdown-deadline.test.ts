/**
 * Regression (issue 14, item 6): close() is bounded by `graceMs` (gateway.drain_timeout) whatever
 * the clients do. A request still arriving on the admin listener (headers half sent) kept the
 * admin server open until node's request timeout (minutes); a keep-alive gateway client must not
 * hold it either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

function open(url: string, bytes: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.write(bytes);
      done(s);
    });
    s.on('error', fail);
  });
}

test(
  'close() ends within graceMs while an admin request is half sent and a gateway client keeps alive',
  {
    timeout: 30_000,
  },
  async () => {
    const upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-close-'));
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off", drain_timeout: 30s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/c.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: hpa, params: { metric: cpu, target: 60 } } }
`;
    const app = await startApp({
      config: parseConfig(text, join(dir, 'luascale.yaml')),
      file: join(dir, 'luascale.yaml'),
      baseDir: dir,
    });
    const sockets: Socket[] = [];
    try {
      sockets.push(await open(app.adminUrl, 'GET /v1/services HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      const gw = await open(app.gatewayUrl, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      sockets.push(gw);
      await new Promise((r) => gw.once('data', r));
      const closed = sockets.map((s) => new Promise((r) => s.once('close', r)));
      const graceMs = 500;
      const t0 = performance.now();
      await app.close({ graceMs });
      const took = performance.now() - t0;
      assert.ok(took < graceMs + 1000, `close() took ${Math.round(took)} ms for graceMs ${graceMs}`);
      await Promise.all(closed);
    } finally {
      for (const s of sockets) s.destroy();
      await app.close();
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
