/**
 * Closing a gateway that terminates TLS (or sniffs for h2c) cuts every connection still open after
 * the grace period, whatever state it is in: node:http's closeAllConnections only knows the sockets
 * it was handed, so a raw socket under TLS, one mid-handshake or one still being sniffed once kept
 * `close()` waiting for the client (120 s in the TLS suite).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import type { GatewayOptions } from '../../../src/gateway/gateway.js';
import { startGateway } from '../helpers.js';
import { selfSignedCert } from '../../helpers/self-signed-cert.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-tls-close-'));
const { certFile: cert, keyFile: key } = selfSignedCert(dir, { file: 'gw' });

const services: GatewayOptions['services'] = {
  api: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: 'http://127.0.0.1:9' }] },
};

/** Closes the gateway with a short grace; fails if that takes more than 5 s. */
async function closesPromptly(
  gw: { close(o: { graceMs: number }): Promise<void> },
  client: net.Socket,
): Promise<void> {
  const closed = new Promise((resolve) => client.once('close', resolve)); // once() would reject on ECONNRESET
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('close() still waiting after 5 s')), 5000);
  });
  try {
    await Promise.race([gw.close({ graceMs: 50 }).then(() => closed), limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('gateway close with connections left open', () => {
  it('TLS: a client that connected and never started the handshake', async () => {
    const { gw, port } = await startGateway({ http2: {}, tls: { cert, key }, services });
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    await closesPromptly(gw, s);
  });

  for (const alpn of ['http/1.1', 'h2']) {
    it(`TLS: an idle connection after the handshake (ALPN ${alpn})`, async () => {
      const { gw, port } = await startGateway({ http2: {}, tls: { cert, key }, services });
      const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: [alpn] });
      s.on('error', () => {});
      await once(s, 'secureConnect');
      assert.equal(s.alpnProtocol, alpn);
      await closesPromptly(gw, s);
    });
  }

  it('h2c: a connection that sent part of the preface', async () => {
    const { gw, port } = await startGateway({ http2: {}, services });
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    s.write('PRI * HTTP/2.0\r\n');
    await closesPromptly(gw, s);
  });
});
