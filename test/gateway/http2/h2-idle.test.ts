/**
 * node:http2 never closes an idle session by itself: an HTTP/2 connection with no open stream is
 * sent GOAWAY and closed after keep_alive_timeout, as node:http closes an idle HTTP/1.1 one, so a
 * client cannot hold sockets for ever (one that sent the preface and nothing else included). A
 * connection with a quiet stream open is left alone until the stream ends.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { startGateway, startUpstream, type Upstream } from '../helpers.js';

const IDLE_MS = 300;

describe('idle HTTP/2 connections', { timeout: 20_000 }, () => {
  let up: Upstream;
  let gw: Gateway;
  let port: number;
  let release: (() => void) | undefined;
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/api/held') release = () => res.end('late');
      else res.end('ok');
    });
    ({ gw, port } = await startGateway({
      http2: {},
      keep_alive_timeout: IDLE_MS,
      services: { api: { routes: [{ path_prefix: '/api' }], instances: [{ id: 'a', url: up.url }] } },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    await up.close();
  });

  /** Resolves with how long `closed` took, or rejects when it takes more than 5 s. */
  const within = async (closed: Promise<unknown>, t0: number): Promise<number> => {
    const late = new Promise<'late'>((resolve) => setTimeout(resolve, 5000, 'late').unref());
    assert.notEqual(await Promise.race([closed, late]), 'late', 'the idle connection was not closed');
    return performance.now() - t0;
  };

  it('closes a connection that sent the preface and nothing else', async () => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('data', () => {}); // the server's SETTINGS, then GOAWAY
    await once(s, 'connect');
    const t0 = performance.now();
    s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const took = await within(once(s, 'close'), t0);
    assert.ok(took >= IDLE_MS - 50, `closed after ${took} ms`);
  });

  it('sends GOAWAY to a client idle after its requests, and spares one with a quiet stream open', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    const goaway = once(session, 'goaway');
    const get = async (path: string): Promise<string> => {
      const req = session.request({ ':path': path });
      req.end();
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      await once(req, 'end');
      return body;
    };
    assert.equal(await get('/api/x'), 'ok');
    // a stream quiet for several idle periods keeps the connection
    const held = get('/api/held');
    while (release === undefined) await new Promise((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_MS)); // the quiet period itself
    assert.equal(session.closed, false);
    release();
    assert.equal(await held, 'late');
    assert.ok(performance.now() - t0 >= 3 * IDLE_MS);
    const [code] = (await goaway) as [number];
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    await within(once(session, 'close'), t0);
  });
});
