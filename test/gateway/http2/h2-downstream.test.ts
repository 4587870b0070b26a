/**
 * HTTP/2 on the gateway's listener with real clients: curl (--http2-prior-knowledge, and --http2
 * which upgrades nothing in cleartext and stays HTTP/1.1), nghttp, and node's http2 client. Every
 * pipeline stage sees the stream as a request: routing, admission (429), forwarding with a body.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { echo, startGateway, startUpstream, type Upstream } from '../helpers.js';

const run = promisify(execFile);

describe('HTTP/2 downstream (h2c with prior knowledge) on the HTTP/1.1 listener', () => {
  let up: Upstream;
  let gw: Gateway;
  let base: string;
  before(async () => {
    up = await startUpstream(echo());
    ({ gw, base } = await startGateway({
      http2: {},
      services: {
        api: {
          routes: [
            { path_prefix: '/api' },
            { path: '/limited', traffic: { rate_limit: { rps: 0.001, burst: 1 } } },
          ],
          instances: [{ id: 'a', url: up.url }],
        },
      },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    await up.close();
  });

  it('curl --http2-prior-knowledge gets an HTTP/2 response forwarded from an HTTP/1.1 upstream', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '--http2-prior-knowledge',
      '-w',
      '\n%{http_version}',
      `${base}/api/x?q=1`,
    ]);
    const [body, version] = stdout.split('\n');
    assert.equal(version, '2');
    const echoed = JSON.parse(body!) as { url: string; headers: Record<string, string> };
    assert.equal(echoed.url, '/api/x?q=1');
    assert.match(echoed.headers.host!, /^127\.0\.0\.1:\d+$/);
    assert.equal(Object.keys(echoed.headers).filter((k) => k.startsWith(':')).length, 0);
  });

  it('curl --http2 on cleartext without prior knowledge still gets HTTP/1.1 on the same port', async () => {
    const { stdout } = await run('curl', ['-s', '--http1.1', '-w', '\n%{http_version}', `${base}/api/y`]);
    assert.equal(stdout.split('\n')[1], '1.1');
  });

  it('nghttp: a POST body streams through (no Content-Length, END_STREAM framing)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'h2-')), 'body');
    writeFileSync(file, 'x'.repeat(100_000));
    const { stdout } = await run('nghttp', ['-d', file, `${base}/api/post`]);
    assert.equal((JSON.parse(stdout) as { bytes: number }).bytes, 100_000);
  });

  it('node http2: many concurrent streams on one connection, and admission answers 429 on a stream', async () => {
    const client = http2.connect(base);
    try {
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const s = client.request({ ':path': path });
          let status = 0;
          let body = '';
          s.on('response', (h) => (status = Number(h[':status'])));
          s.on('data', (c: Buffer) => (body += c.toString()));
          s.on('end', () => resolve({ status, body }));
          s.on('error', reject);
        });
      const all = await Promise.all(Array.from({ length: 50 }, (_, i) => get(`/api/${i}`)));
      assert.deepEqual(new Set(all.map((r) => r.status)), new Set([200]));
      assert.equal((JSON.parse(all[7]!.body) as { url: string }).url, '/api/7');
      assert.equal((await get('/limited')).status, 200);
      const limited = await get('/limited');
      assert.equal(limited.status, 429);
      assert.match(limited.body, /LS_ERR_GATEWAY_RATE_LIMITED/);
    } finally {
      client.close();
    }
  });
});
