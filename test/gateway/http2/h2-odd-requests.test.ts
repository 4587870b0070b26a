/**
 * Odd but legal HTTP/2 requests through the gateway to an HTTP/1.1 upstream (h2c, node's client).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { echo, startGateway, startUpstream, type Upstream } from '../helpers.js';

interface Echoed {
  headers: Record<string, string>;
  rawHeaders: string[];
}

describe('HTTP/2 odd requests', () => {
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
});
