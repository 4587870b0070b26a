/**
 * A TLS handshake is held to `headers_timeout`, as the h2c sniffing and a request's headers are: a
 * client that connects and sends nothing, or half a ClientHello, is cut then, not after node's
 * default 120 s (a slowloris holding sockets through the handshake).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { startGateway } from '../helpers.js';
import { selfSignedCert } from '../../helpers/self-signed-cert.js';

const cert = selfSignedCert(mkdtempSync(join(tmpdir(), 'ls-tls-hs-')), { cn: 'localhost' });
const HEADERS_TIMEOUT = 300;

describe('TLS handshake timeout', { timeout: 20_000 }, () => {
  for (const http2 of [false, true])
    it(`cuts a stalled handshake after headers_timeout (http2 ${http2 ? 'on' : 'off'})`, async () => {
      const { gw, port } = await startGateway({
        headers_timeout: HEADERS_TIMEOUT,
        request_timeout: 1000,
        ...(http2 ? { http2: {} } : {}),
        tls: { cert: cert.certFile, key: cert.keyFile },
        services: {},
      });
      try {
        // a handshake completes as usual
        const ok = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
        await once(ok, 'secureConnect');
        ok.destroy();
        for (const first of [Buffer.alloc(0), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])]) {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => {});
          await once(s, 'connect');
          const t0 = performance.now();
          if (first.length > 0) s.write(first); // half a ClientHello
          const closed = once(s, 'close');
          const late = new Promise<'open'>((resolve) => setTimeout(resolve, 5000, 'open').unref());
          assert.notEqual(await Promise.race([closed, late]), 'open', 'the stalled handshake was not cut');
          const took = performance.now() - t0;
          assert.ok(took >= HEADERS_TIMEOUT - 50, `cut after ${took} ms`);
          s.destroy();
        }
      } finally {
        await gw.close({ graceMs: 50 });
      }
    });
});
