/**
 * The per-source penalty after an HTTP/2 flood (flood-penalty.ts) with an injected clock: the
 * cool-off, its doubling on repeat offences up to the cap, forgetting a reformed address, and the
 * bound on remembered addresses. Then through a config (`gateway.http2.block_after_flood`,
 * `gateway.trusted_proxies`) on a live gateway: a flooding address's next connection is refused at
 * accept, a trusted proxy's is not, and the block is logged once per offence.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import { withTlsHttp2 } from '../../../src/app/tls-http2-options.js';
import { FloodPenalty } from '../../../src/gateway/http2/flood-penalty.js';
import { startGateway, startUpstream } from '../helpers.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

describe('FloodPenalty', () => {
  it('blocks for the base cool-off, then lets the address in', () => {
    const p = new FloodPenalty({ baseMs: 10_000 });
    assert.equal(p.blocked('10.0.0.1', 0), false);
    assert.deepEqual(p.offend('10.0.0.1', 1000), { ms: 10_000, offences: 1 });
    assert.equal(p.blocked('10.0.0.1', 1000), true);
    assert.equal(p.blocked('10.0.0.1', 10_999), true);
    assert.equal(p.blocked('10.0.0.2', 5000), false, 'another address');
    assert.equal(p.blocked('10.0.0.1', 11_000), false);
  });

  it('doubles on repeat offences up to the cap; a trip while blocked is no new offence', () => {
    const p = new FloodPenalty({ baseMs: 10_000, maxMs: 50_000 });
    let now = 0;
    const got: number[] = [];
    for (let k = 0; k < 5; k++) {
      const r = p.offend('a', now)!;
      assert.equal(p.offend('a', now + 1), undefined, 'already blocked');
      got.push(r.ms);
      now += r.ms; // offends again as soon as the block ends
    }
    assert.deepEqual(got, [10_000, 20_000, 40_000, 50_000, 50_000]);
  });

  it('forgets an address after as long again of good behaviour', () => {
    const p = new FloodPenalty({ baseMs: 10_000 });
    p.offend('a', 0);
    assert.equal(p.offend('a', 15_000)!.ms, 20_000, 'within 2 × 10 s: repeat');
    // blocked until 35 s, remembered until 55 s
    assert.equal(p.offend('a', 55_000)!.ms, 10_000, 'forgotten: from the base again');
    assert.equal(p.size, 1);
    assert.equal(p.blocked('a', 75_000), false);
    assert.equal(p.size, 0, 'expired record dropped when looked up');
  });

  it('remembers at most maxEntries addresses: expired ones go first, then the oldest offence', () => {
    const p = new FloodPenalty({ baseMs: 1000, maxEntries: 3 });
    p.offend('a', 0); // forgotten at 2000
    p.offend('b', 1900);
    p.offend('c', 1950);
    p.offend('d', 2500); // full: 'a' is expired and goes
    assert.equal(p.size, 3);
    assert.deepEqual(
      ['b', 'c', 'd'].map((x) => p.blocked(x, 2500)),
      [true, true, true],
    );
    p.offend('e', 2501); // full, none expired: the oldest offence ('b') goes
    assert.equal(p.size, 3);
    assert.equal(p.blocked('b', 2501), false);
    assert.equal(p.blocked('e', 2501), true);
    for (let i = 0; i < 10_000; i++) p.offend(`x${i}`, 3000);
    assert.equal(p.size, 3);
  });

  it('does nothing with a base of 0 (off)', () => {
    const p = new FloodPenalty({ baseMs: 0 });
    assert.equal(p.offend('a', 0), undefined);
    assert.equal(p.blocked('a', 0), false);
  });
});

/** Connects from `localAddress`; resolves how the connection ended: GOAWAY code, or refused. */
function attack(port: number, localAddress: string, streams: number): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    const c = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => net.connect({ host: '127.0.0.1', port, localAddress }),
    });
    let settings = false;
    c.on('error', () => {});
    c.once('remoteSettings', () => {
      settings = true;
      for (let i = 0; i < streams && !c.destroyed; i++) {
        const s = c.request({ ':path': `/a${i}` });
        s.on('error', () => {});
        s.close(NGHTTP2_CANCEL);
      }
    });
    c.on('goaway', (code: number) => {
      c.destroy();
      resolve(code);
    });
    c.on('close', () => resolve(settings ? 0 : 'refused'));
  });
}

describe('gateway.http2.block_after_flood', () => {
  it('refuses a flooding address at accept, never a trusted proxy, and logs each block once', async () => {
    const config = parseConfig(
      `
gateway:
  trusted_proxies: ["127.0.0.3"]
  http2: { enabled: true, max_resets_per_second: 5, block_after_flood: 30s }
services:
  api:
    routes: [{ path_prefix: "/" }]
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
`,
      'luascale.yaml',
    );
    const log: string[] = [];
    const mapped = withTlsHttp2({ services: {} }, config, { baseDir: '.', log: (l) => log.push(l) });
    assert.deepEqual(mapped.http2?.block, { baseMs: 30_000 });
    const up = await startUpstream((_req, res) => res.end('ok'));
    const { gw, base } = await startGateway({
      http2: mapped.http2,
      trusted_proxies: config.gateway.trusted_proxies,
      services: { api: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: up.url }] } },
    });
    try {
      const port = Number(new URL(base).port);
      assert.equal(await attack(port, '127.0.0.2', 20), NGHTTP2_ENHANCE_YOUR_CALM);
      assert.equal(await attack(port, '127.0.0.2', 20), 'refused');
      assert.equal(await attack(port, '127.0.0.2', 20), 'refused');
      // a trusted proxy floods too (one of its clients did): GOAWAY, but it is never blocked
      assert.equal(await attack(port, '127.0.0.3', 20), NGHTTP2_ENHANCE_YOUR_CALM);
      assert.equal(await attack(port, '127.0.0.3', 20), NGHTTP2_ENHANCE_YOUR_CALM);
      // and everyone else is served
      const c = http2.connect(base);
      const s = c.request({ ':path': '/x' });
      const [headers] = (await once(s, 'response')) as [http2.IncomingHttpHeaders];
      s.resume();
      assert.equal(headers[':status'], 200);
      c.close();
      assert.deepEqual(
        log.filter((l) => l.includes('blocked')),
        ['http2: 127.0.0.2 blocked for 30 s after a flood (offence 1): its new connections are refused'],
      );
    } finally {
      await gw.close({ graceMs: 100 });
      await up.close();
    }
  });
});
