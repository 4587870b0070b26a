/**
 * The client certificate (and CA) presented to https:// instances is re-read when its files change
 * (upstream-pool.ts, watch-files.ts), as cert-manager or a Kubernetes secret rotates it: new
 * connections present the new certificate; a set that does not load keeps the old one and is
 * reported. Checked over HTTP/1.1 and HTTP/2 (`protocol: h2`).
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { selfSignedCert } from '../../helpers/self-signed-cert.js';
import { request, startGateway } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-up-reload-'));
const server = selfSignedCert(dir, { cn: 'localhost' });
const [a, b] = ['client-a', 'client-b'].map((cn) => selfSignedCert(dir, { cn }));
const certFile = join(dir, 'client.crt');
const keyFile = join(dir, 'client.key');

/** Replaces a file atomically (write aside, rename over), as secret updaters do. */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

describe('upstream client certificate reload', { timeout: 20_000 }, () => {
  const reloads = new EventEmitter();
  let gw: Gateway;
  let port: number;
  let h1: https.Server;
  let h2: http2.Http2SecureServer;
  /** The CN of the client certificate the instance saw on this request's connection. */
  const peerCn = (socket: TLSSocket) => String(socket.getPeerCertificate().subject?.CN ?? 'none');
  const nextReload = async () => ((await once(reloads, 'reload')) as [{ ok: boolean; error?: string }])[0];
  const seen = async (path: string) => (await request(port, { path })).body;

  before(async () => {
    replace(certFile, a!.cert);
    replace(keyFile, a!.key);
    const opts = { key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: false };
    h1 = https
      .createServer(opts, (req, res) => res.end(peerCn(req.socket as TLSSocket)))
      .listen(0, '127.0.0.1');
    h2 = http2
      .createSecureServer(opts, (req, res) => res.end(peerCn(req.socket as unknown as TLSSocket)))
      .listen(0, '127.0.0.1');
    await Promise.all([once(h1, 'listening'), once(h2, 'listening')]);
    const upstream = {
      tls: { ca: server.cert, cert: a!.cert, key: a!.key },
      tls_files: {
        ca: server.certFile,
        cert: certFile,
        key: keyFile,
        reload_interval: 50,
        onReload: (r: { ok: boolean; error?: string }) => reloads.emit('reload', r),
      },
    };
    const at = (s: https.Server | http2.Http2SecureServer) =>
      `https://localhost:${(s.address() as { port: number }).port}`;
    ({ gw, port } = await startGateway({
      services: {
        one: { routes: [{ path_prefix: '/one' }], upstream, instances: [{ id: 'a', url: at(h1) }] },
        two: {
          routes: [{ path_prefix: '/two' }],
          upstream: { ...upstream, protocol: 'h2' },
          instances: [{ id: 'a', url: at(h2) }],
        },
      },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    h1.close();
    h2.close();
  });

  it('presents the rotated certificate on new connections; a broken set keeps the last good one', async () => {
    assert.equal(await seen('/one/x'), 'client-a');
    assert.equal(await seen('/two/x'), 'client-a');
    // Both services' pools watch the files: one reload each.
    const rotated = Promise.all([nextReload(), nextReload()]);
    replace(certFile, b!.cert);
    replace(keyFile, b!.key);
    assert.deepEqual(
      (await rotated).map((r) => r.ok),
      [true, true],
    );
    assert.equal(await seen('/one/x'), 'client-b');
    assert.equal(await seen('/two/x'), 'client-b');

    const broken = Promise.all([nextReload(), nextReload()]);
    replace(keyFile, a!.key); // the key no longer matches the certificate
    for (const r of await broken) {
      assert.equal(r.ok, false);
      assert.match(r.error!, /client\.key: .*key values mismatch/);
    }
    assert.equal(await seen('/one/x'), 'client-b');
    assert.equal(await seen('/two/x'), 'client-b');
  });
});
