/**
 * mTLS on the listener (a client certificate signed by client_ca is required) and TLS towards
 * https:// instances checked against a CA, over HTTP/1.1 (undici) and HTTP/2 (`protocol: h2`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { startGateway } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-mtls-'));
const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

/** A CA, and a leaf it signs for `cn` (files in `dir`). */
function issue(cn: string, ca: string): void {
  ossl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    `subjectAltName=DNS:${cn}`,
    '-keyout',
    `${cn}.key`,
    '-out',
    `${cn}.csr`,
  ]);
  ossl([
    'x509',
    '-req',
    '-in',
    `${cn}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-copy_extensions',
    'copy',
    '-out',
    `${cn}.crt`,
  ]);
}
function ca(name: string): void {
  ossl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  ]);
}
const f = (n: string) => join(dir, n);
const pem = (n: string) => readFileSync(f(n), 'utf8');

describe('mTLS and upstream TLS', () => {
  let gw: Gateway;
  let port: number;
  let h1Up: https.Server;
  let h2Up: http2.Http2SecureServer;
  before(async () => {
    ca('ca');
    ca('other-ca');
    issue('localhost', 'ca');
    issue('client', 'ca');
    const key = pem('localhost.key');
    const cert = pem('localhost.crt');
    h1Up = https.createServer({ key, cert }, (req, res) => res.end(`h1 ${req.url}`)).listen(0, '127.0.0.1');
    h2Up = http2
      .createSecureServer({ key, cert }, (req, res) => res.end(`h2 ${req.httpVersion}`))
      .listen(0, '127.0.0.1');
    await Promise.all([once(h1Up, 'listening'), once(h2Up, 'listening')]);
    const upstreamTls = { ca: pem('ca.crt') };
    const p = (s: { address(): unknown }) => (s.address() as { port: number }).port;
    ({ gw, port } = await startGateway({
      tls: { cert: f('localhost.crt'), key: f('localhost.key'), client_ca: f('ca.crt') },
      services: {
        one: {
          routes: [{ path_prefix: '/one' }],
          upstream: { tls: upstreamTls },
          instances: [{ id: 'a', url: `https://localhost:${p(h1Up)}` }],
        },
        three: {
          routes: [{ path_prefix: '/three' }],
          upstream: { tls: { ca: pem('other-ca.crt') } },
          instances: [{ id: 'a', url: `https://localhost:${p(h1Up)}` }],
        },
        two: {
          routes: [{ path_prefix: '/two' }],
          upstream: { protocol: 'h2', tls: upstreamTls },
          instances: [{ id: 'a', url: `https://localhost:${p(h2Up)}` }],
        },
      },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    h1Up.close();
    h2Up.close();
  });

  const get = (path: string, withCert: boolean) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port,
          path,
          servername: 'localhost',
          ca: pem('ca.crt'),
          agent: false,
          ...(withCert ? { cert: pem('client.crt'), key: pem('client.key') } : {}),
        },
        (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${b}`));
        },
      );
      req.on('error', reject);
    });

  it('refuses a client without a certificate, serves one with a certificate of the CA', async () => {
    await assert.rejects(get('/one/x', false));
    assert.equal(await get('/one/x', true), '200 h1 /one/x');
  });

  it('reaches https:// instances checked against the CA, over HTTP/1.1 and HTTP/2', async () => {
    assert.equal(await get('/two/y', true), '200 h2 2.0');
  });

  it("names the upstream hop's version in the response's Via (RFC 9110 §7.6.3)", async () => {
    const viaOf = (path: string) =>
      new Promise<string | undefined>((resolve, reject) => {
        const opts = { host: '127.0.0.1', port, path, servername: 'localhost', agent: false };
        const tls = { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') };
        https.get({ ...opts, ...tls }, (res) => resolve(res.resume().headers.via)).on('error', reject);
      });
    assert.equal(await viaOf('/one/v'), '1.1 luascale');
    assert.equal(await viaOf('/two/v'), '2 luascale');
  });

  it('does not trust an instance whose certificate is not signed by the configured CA (502)', async () => {
    assert.match(await get('/three/z', true), /^502 .*LS_ERR_GATEWAY_UPSTREAM_ERROR/);
  });
});
