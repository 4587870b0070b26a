/**
 * TLS on the gateway's listener: ALPN h2 and http/1.1 with curl, certificates by SNI, and
 * certificate rotation under load (new handshakes get the new certificate, requests in flight and
 * open connections finish, none fails; a bad file keeps the old certificate and is reported).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { startGateway, startUpstream, type Upstream } from '../helpers.js';
import { selfSignedCert } from '../../helpers/self-signed-cert.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ls-tls-'));

/** A self-signed certificate for `names` (PEM strings). */
const selfSigned = (cn: string, names: string[]) => selfSignedCert(dir, { cn, names });

/** Writes a file atomically (as deploy tools and cert-manager do). */
function put(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

/** The CN of the certificate a new TLS connection is shown. */
async function peerCn(port: number, servername = 'localhost'): Promise<string> {
  const s = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false });
  await once(s, 'secureConnect');
  const cn = String(s.getPeerCertificate().subject.CN);
  s.destroy();
  return cn;
}

describe('TLS on the listener', () => {
  let up: Upstream;
  let gw: Gateway;
  let port: number;
  const reloads = new EventEmitter();
  const certFile = join(dir, 'gw.crt');
  const keyFile = join(dir, 'gw.key');
  const a = selfSigned('gen-a', ['localhost']);
  const b = selfSigned('gen-b', ['localhost']);
  const other = selfSigned('other', ['other.test', '*.wild.test']);
  let seen: http.IncomingHttpHeaders = {};

  before(async () => {
    put(certFile, a.cert);
    put(keyFile, a.key);
    writeFileSync(join(dir, 'other.crt'), other.cert);
    writeFileSync(join(dir, 'other.key'), other.key);
    // every response takes a little while, so rotation happens with requests in flight
    up = await startUpstream((req, res) => {
      seen = req.headers;
      setTimeout(() => res.end('ok'), 5);
    });
    ({ gw, port } = await startGateway({
      http2: {},
      tls: {
        certificates: [
          { cert: certFile, key: keyFile },
          { cert: join(dir, 'other.crt'), key: join(dir, 'other.key') },
        ],
        reload_interval: 50,
        onReload: (r) => reloads.emit('reload', r),
      },
      services: { api: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: up.url }] } },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    await up.close();
  });

  it('speaks h2 and http/1.1 by ALPN (curl), TLS 1.2 and 1.3 only', async () => {
    const h2 = await run('curl', [
      '-sk',
      '--http2',
      '-w',
      '%{http_version}',
      '-o',
      '/dev/null',
      `https://localhost:${port}/x`,
    ]);
    assert.equal(h2.stdout, '2');
    const h1 = await run('curl', [
      '-sk',
      '--http1.1',
      '-w',
      '%{http_version}',
      '-o',
      '/dev/null',
      `https://localhost:${port}/x`,
    ]);
    assert.equal(h1.stdout, '1.1');
    await assert.rejects(
      run('curl', ['-sk', '--tlsv1.1', '--tls-max', '1.1', `https://localhost:${port}/x`]),
    );
  });

  it('tells the upstream the client came over https, and Via names the protocol (2 or 1.1)', async () => {
    for (const [flag, via] of [
      ['--http2', '2 luascale'],
      ['--http1.1', '1.1 luascale'],
    ]) {
      await run('curl', ['-sk', flag!, '-o', '/dev/null', `https://localhost:${port}/proto`]);
      assert.equal(seen['x-forwarded-proto'], 'https');
      assert.match(String(seen.forwarded), /;proto=https$/);
      assert.equal(seen.via, via);
    }
  });

  it('chooses the certificate by SNI (exact and wildcard names), else the first', async () => {
    assert.equal(await peerCn(port, 'other.test'), 'other');
    assert.equal(await peerCn(port, 'x.wild.test'), 'other');
    assert.equal(await peerCn(port, 'unknown.test'), 'gen-a');
  });

  it('rotates the certificate under load: new handshakes get it, 0 requests fail', async () => {
    assert.equal(await peerCn(port), 'gen-a');
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false });
    let failed = 0;
    let done = 0;
    const get = (fresh: boolean) =>
      new Promise<void>((resolve) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port,
            path: '/r',
            servername: 'localhost',
            agent: fresh ? false : agent,
            rejectUnauthorized: false,
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) failed++;
              done++;
              resolve();
            });
          },
        );
        req.on('error', () => {
          failed++;
          resolve();
        });
      });
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        while (!stop) await get(i % 4 === 0); // a quarter of the requests on new connections
      }),
    );
    while (done < 100) await new Promise((r) => setImmediate(r));
    const reloaded = once(reloads, 'reload');
    put(certFile, b.cert);
    put(keyFile, b.key);
    let [r] = (await reloaded) as [{ ok: boolean }];
    // the cert may be seen before its key (a mismatch, kept old): the next reload has both
    while (!r.ok) [r] = (await once(reloads, 'reload')) as [{ ok: boolean }];
    const atRotation = done;
    while (done < atRotation + 100) await new Promise((r) => setImmediate(r));
    assert.equal(await peerCn(port), 'gen-b');

    // a broken file: reported, and the last good certificate stays
    const bad = once(reloads, 'reload');
    put(certFile, 'not a certificate');
    const [badResult] = (await bad) as [{ ok: boolean; error: string }];
    assert.equal(badResult.ok, false);
    assert.match(badResult.error, /gw\.crt/);
    assert.equal(await peerCn(port), 'gen-b');
    stop = true;
    await load;
    agent.destroy();
    assert.equal(failed, 0);
    assert.ok(done > 200, `${done} requests`);
  });
});
