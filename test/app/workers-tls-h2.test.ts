/**
 * `gateway.workers: 2` with `gateway.tls` and `gateway.http2` (issue 21): each worker builds the
 * same listener (TLS, ALPN h2 and http/1.1) and the upstream protocols from the config, so an h2
 * client over TLS and an HTTPS/1.1 client are served by the workers, not refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import { selfSignedCert } from '../helpers/self-signed-cert.js';

/** A self-signed certificate for localhost, written to `dir`. */
/** One GET over an HTTP/2 TLS connection: the ALPN protocol and the status. */
async function h2Get(
  port: number,
  ca: string,
): Promise<{ alpn: string | false | undefined; status: number }> {
  const c = http2.connect(`https://localhost:${port}`, { ca });
  try {
    await once(c, 'connect');
    const s = c.request({ ':path': '/x' });
    const [headers] = (await once(s, 'response')) as [http2.IncomingHttpHeaders];
    s.resume();
    await once(s, 'end');
    return { alpn: c.alpnProtocol, status: Number(headers[':status']) };
  } finally {
    c.close();
  }
}

test('workers: 2 with gateway.tls and gateway.http2: h2 over TLS and HTTPS/1.1 are served', async () => {
  const upstream = http.createServer((_req, res) => res.end('ok'));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const dir = mkdtempSync(join(tmpdir(), 'ls-workers-tls-'));
  const ca = selfSignedCert(dir, { file: 'gw' }).cert;
  const file = join(dir, 'luascale.yaml');
  const config = parseConfig(
    `
gateway:
  listen: "127.0.0.1:0"
  access_log: "off"
  workers: 2
  http2: { enabled: true }
  tls: { cert: gw.crt, key: gw.key }
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
    assert.equal(app.gatewayPids().length, 2);
    const port = Number(new URL(app.gatewayUrl).port);
    // several connections, so the primary's round-robin hands them to both workers
    const h2 = await Promise.all(Array.from({ length: 6 }, () => h2Get(port, ca)));
    assert.deepEqual(
      h2,
      Array.from({ length: 6 }, () => ({ alpn: 'h2', status: 200 })),
    );
    const h1 = await new Promise<number>((resolve, reject) =>
      https
        .get({ host: '127.0.0.1', port, path: '/x', servername: 'localhost', ca, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
        .on('error', reject),
    );
    assert.equal(h1, 200);
  } finally {
    await app.close({ graceMs: 100 });
    upstream.closeAllConnections();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
