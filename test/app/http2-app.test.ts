/**
 * `gateway.http2` from a config reaches the listener (issue 17's rule: no setting accepted and
 * ignored): with `enabled: true` an h2c client with prior knowledge is served on the HTTP/1.1 port,
 * and each per-second flood limit (`max_resets_per_second`, `max_pings_per_second`,
 * `max_settings_per_second`) sends GOAWAY ENHANCE_YOUR_CALM past its own configured value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** A connected h2c session that resolves the GOAWAY code it is sent. */
async function session(base: string): Promise<{ c: http2.ClientHttp2Session; goaway: Promise<number> }> {
  const c = http2.connect(base, {
    maxOutstandingPings: 1000,
    // node's own option (not in @types/node): how many SETTINGS may await their ACK
    maxOutstandingSettings: 1000,
  } as http2.ClientSessionOptions);
  c.on('error', () => {});
  const goaway = new Promise<number>((resolve) => c.on('goaway', (code) => resolve(code)));
  await once(c, 'connect');
  return { c, goaway };
}

test('gateway.http2 from a config: h2c served on the same port, and each flood limit is the configured one', async () => {
  let resetStreams = 0;
  const upstream = http.createServer((req, res) => {
    if (req.url!.startsWith('/r')) resetStreams++;
    res.end('ok');
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const dir = mkdtempSync(join(tmpdir(), 'ls-h2-app-'));
  const file = join(dir, 'luascale.yaml');
  const config = parseConfig(
    `
gateway:
  listen: "127.0.0.1:0"
  access_log: "off"
  http2: { enabled: true, max_resets_per_second: 5, max_pings_per_second: 8, max_settings_per_second: 4 }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: ${JSON.stringify(join(dir, 'db.sqlite'))} }
services:
  api:
    routes: [{ path_prefix: "/" }]
    provider: { static: { targets: ["http://127.0.0.1:${(upstream.address() as AddressInfo).port}"] } }
`,
    file,
  );
  const app = await startApp(
    { config, file, baseDir: dir },
    { gatewayListen: '127.0.0.1:0', adminListen: '127.0.0.1:0' },
  );
  try {
    const base = app.gatewayUrl;
    // h2c with prior knowledge on the HTTP/1.1 listener
    const ok = await session(base);
    const s = ok.c.request({ ':path': '/x' });
    const [headers] = (await once(s, 'response')) as [http2.IncomingHttpHeaders];
    s.resume();
    await once(s, 'end');
    assert.equal(headers[':status'], 200);
    ok.c.close();
    // and HTTP/1.1 still works there
    assert.equal((await fetch(`${base}/x`)).status, 200);

    // PINGs: 8 per second allowed; 20 at once are over it
    const pings = await session(base);
    for (let i = 0; i < 20 && !pings.c.destroyed; i++) pings.c.ping(() => {});
    assert.equal(await pings.goaway, NGHTTP2_ENHANCE_YOUR_CALM);

    // SETTINGS: 4 per second allowed
    const settings = await session(base);
    for (let i = 0; i < 12 && !settings.c.destroyed; i++) settings.c.settings({ enablePush: false });
    assert.equal(await settings.goaway, NGHTTP2_ENHANCE_YOUR_CALM);

    // rapid reset: 5 cancelled streams per second allowed
    const resets = await session(base);
    // (a stream cancelled before its HEADERS left is never seen: yield so most of them go out)
    for (let i = 0; i < 500 && !resets.c.destroyed && !resets.c.closed; i++) {
      const r = resets.c.request({ ':path': `/r${i}` });
      r.on('error', () => {});
      r.close(NGHTTP2_CANCEL);
      if (i % 2 === 1) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await resets.goaway, NGHTTP2_ENHANCE_YOUR_CALM);
    // cut off after about 5 resets, not the default 100: few of its streams cost an upstream request
    assert.ok(resetStreams < 50, `${resetStreams} reset streams reached the upstream`);
  } finally {
    await app.close({ graceMs: 100 });
    upstream.closeAllConnections();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
