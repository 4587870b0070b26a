/**
 * `Upgrade: h2c` is never forwarded (h2c smuggling): an instance that accepts it would turn the
 * client's connection into a tunnel past routing, authentication and admission. The gateway ignores
 * the upgrade (RFC 9110 §7.8) and serves the request as plain HTTP/1.1, and the next request on the
 * connection is the gateway's again — cleartext with and without http2, over TLS, and curl --http2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Gateway, GatewayOptions } from '../../../src/gateway/gateway.js';
import { startGateway } from '../helpers.js';
import { selfSignedCert } from '../../helpers/self-signed-cert.js';

const run = promisify(execFile);

const UPGRADE_REQUEST =
  'POST /api/x HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
  'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello';
const NEXT_REQUEST = 'GET /elsewhere HTTP/1.1\r\nHost: a.test\r\n\r\n';

describe('Upgrade: h2c is not forwarded', () => {
  let upstream: http.Server;
  let url: string;
  const seen: { url: string; upgrade?: string; connection?: string; body: string }[] = [];
  let upgrades = 0;
  const dir = mkdtempSync(join(tmpdir(), 'ls-h2c-'));
  const cert = selfSignedCert(dir, { cn: 'localhost' });

  before(async () => {
    upstream = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url!, upgrade: req.headers.upgrade, connection: req.headers.connection, body });
        res.end(`plain ${req.url}`);
      });
    });
    // an instance that accepts h2c upgrades: what the gateway must never let a client reach this way
    upstream.on('upgrade', (_req, socket: net.Socket) => {
      upgrades++;
      socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    url = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
  });
  after(() => upstream.close());

  const gateway = (extra: Partial<GatewayOptions>): Promise<{ gw: Gateway; port: number }> =>
    startGateway({
      ...extra,
      services: { api: { routes: [{ path_prefix: '/api' }], instances: [{ id: 'a', url }] } },
    });

  /** Sends the upgrade request, then another on the same connection once the first is answered. */
  const exchange = async (socket: net.Socket): Promise<string> => {
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (got += d));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(UPGRADE_REQUEST);
    await new Promise<void>((resolve) => {
      const first = (): void => {
        if (!/plain \/api\/x|HTTP\/1\.1 101/.test(got)) return;
        socket.off('data', first);
        resolve();
      };
      socket.on('data', first);
    });
    socket.write(NEXT_REQUEST);
    await new Promise<void>((resolve) => {
      const second = (): void => {
        if (/LS_ERR_GATEWAY_NO_ROUTE|plain \/elsewhere/.test(got)) resolve();
      };
      socket.on('data', second);
      void closed.then(() => resolve());
    });
    socket.destroy();
    return got;
  };

  const check = (got: string): void => {
    assert.equal(upgrades, 0, 'the instance was asked to upgrade');
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n[\s\S]*plain \/api\/x/);
    // the connection is still the gateway's: the next request is routed (no route: 404)
    assert.match(got, /HTTP\/1\.1 404 Not Found[\s\S]*LS_ERR_GATEWAY_NO_ROUTE/);
    const last = seen.at(-1)!;
    assert.deepEqual(last, { url: '/api/x', upgrade: undefined, connection: 'keep-alive', body: 'hello' });
  };

  for (const [name, options] of [
    ['cleartext', {}],
    ['cleartext with http2 (h2c sniffing)', { http2: {} }],
  ] as const)
    it(`${name}: served as HTTP/1.1, the next request still routed`, async () => {
      const { gw, port } = await gateway(options);
      try {
        check(await exchange(net.connect(port, '127.0.0.1')));
      } finally {
        await gw.close({ graceMs: 50 });
      }
    });

  it('over TLS (ALPN http/1.1): served as HTTP/1.1, the next request still routed', async () => {
    const { gw, port } = await gateway({ http2: {}, tls: { cert: cert.certFile, key: cert.keyFile } });
    try {
      const socket = tls.connect({
        port,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      await once(socket, 'secureConnect');
      check(await exchange(socket));
    } finally {
      await gw.close({ graceMs: 50 });
    }
  });

  it('curl --http2 on http:// (which asks for h2c) gets its answer over HTTP/1.1', async () => {
    const { gw, port } = await gateway({ http2: {} });
    try {
      const { stdout } = await run('curl', [
        '-s',
        '--http2',
        '-w',
        '\n%{http_version}',
        `http://127.0.0.1:${port}/api/curl`,
      ]);
      assert.equal(stdout, 'plain /api/curl\n1.1');
      assert.equal(upgrades, 0);
    } finally {
      await gw.close({ graceMs: 50 });
    }
  });
});
