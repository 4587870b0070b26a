/**
 * Odd but legal HTTP/2 requests through the gateway to an HTTP/1.1 upstream (h2c, node's client),
 * and odd HTTP/1.1 responses to them.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { echo, startGateway, startUpstream, type Upstream } from '../helpers.js';

interface Echoed {
  headers: Record<string, string>;
  rawHeaders: string[];
}

describe('HTTP/2 odd requests', { timeout: 20_000 }, () => {
  let up: Upstream;
  let gw: Gateway;
  let base: string;
  before(async () => {
    up = await startUpstream(echo());
    ({ gw, base } = await startGateway({
      http2: {},
      services: { api: { routes: [{ path_prefix: '/api' }], instances: [{ id: 'a', url: up.url }] } },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    await up.close();
  });

  const get = async (headers: http2.OutgoingHttpHeaders): Promise<Echoed> => {
    const session = http2.connect(base);
    try {
      const req = session.request({ ':path': '/api/x', ...headers });
      req.end();
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      await new Promise((resolve, reject) => {
        req.on('end', resolve);
        req.on('error', reject);
      });
      return JSON.parse(body) as Echoed;
    } finally {
      session.close();
    }
  };

  it('joins cookie fields split by the client into one Cookie for the HTTP/1.1 upstream (RFC 9113 §8.2.3)', async () => {
    const many = Array.from({ length: 50 }, (_, i) => `c${i}=${'v'.repeat(40)}`);
    const echoed = await get({ 'x-before': '1', cookie: many, 'x-after': '2' });
    const names = echoed.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'cookie').length, 1);
    assert.equal(echoed.headers.cookie, many.join('; '));
    // in the place of the first cookie field, the others untouched
    assert.deepEqual(names.filter((n) => n.startsWith('x-') || n === 'cookie').slice(0, 3), [
      'x-before',
      'cookie',
      'x-after',
    ]);
  });

  it('drops an HTTP2-Settings response field (hop-by-hop) that node refuses to send over HTTP/2', async () => {
    // a raw upstream: node:http would not send the field either
    const raw = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () =>
        socket.write(
          'HTTP/1.1 200 OK\r\nHTTP2-Settings: AAMAAABk\r\nX-Kept: 1\r\nContent-Length: 2\r\n\r\nok',
        ),
      );
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    const port = (raw.address() as net.AddressInfo).port;
    const { gw: gw2, base: base2 } = await startGateway({
      http2: {},
      services: {
        api: { routes: [{ path_prefix: '/api' }], instances: [{ id: 'a', url: `http://127.0.0.1:${port}` }] },
      },
    });
    const session = http2.connect(base2);
    try {
      const req = session.request({ ':path': '/api/settings' });
      req.end();
      const [head] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      await once(req, 'end');
      assert.equal(head[':status'], 200);
      assert.equal(head['x-kept'], '1');
      assert.equal(head['http2-settings'], undefined);
      assert.equal(body, 'ok');
    } finally {
      session.close();
      await gw2.close({ graceMs: 50 });
      raw.close();
    }
  });
});
