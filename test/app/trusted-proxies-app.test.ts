/**
 * `gateway.trusted_proxies` in `luascale up` (startApp) with a real upstream on loopback: behind a
 * trusted proxy the client is the X-Forwarded-For entry it added, for the upstream's forwarding
 * headers (appended to), the per-IP rate limit and the access log; an untrusted peer's forwarding
 * headers are replaced and it is limited as itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { LuascaleError } from '../../src/core/errors.js';

interface Seen {
  status: number;
  xff: string | undefined;
  forwarded: string | undefined;
}

/** Runs an app in front of a header-echoing upstream, sends `sends` (X-Forwarded-For values) in order. */
async function run(
  gatewayExtra: string,
  sends: (string | undefined)[],
): Promise<{ seen: Seen[]; log: Record<string, unknown>[] }> {
  const upstream = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ xff: req.headers['x-forwarded-for'], forwarded: req.headers.forwarded }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-tp-'));
  let app: LuascaleApp | undefined;
  try {
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: full, access_log_file: access.log${gatewayExtra} }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/luascale.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, interval: 1s, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
    traffic:
      # one request per client, then 429 for 1000 s: the buckets, not the clock, decide
      rate_limit: { rps: 0.001, burst: 1, key: ip }
`;
    let wake: () => void = () => {};
    const nextDecision = () => new Promise<void>((r) => (wake = r));
    app = await startApp(
      {
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      },
      { onDecision: () => wake() },
    );
    for (let i = 0; i < 10 && app.gateway.instances('web').length === 0; i++) await nextDecision();
    const seen: Seen[] = [];
    for (const v of sends) seen.push(await get(`${app.gatewayUrl}/x`, v));
    await app.close({ graceMs: 1000 });
    app = undefined;
    const log = readFileSync(join(dir, 'access.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { seen, log };
  } finally {
    await app?.close({ graceMs: 100 });
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function get(url: string, xff: string | undefined): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { connection: 'close' };
    if (xff !== undefined) headers['x-forwarded-for'] = xff;
    http
      .get(url, { agent: false, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += String(c)));
        res.on('end', () => {
          const j = res.statusCode === 200 ? (JSON.parse(body) as Partial<Seen>) : {};
          resolve({ status: res.statusCode ?? 0, xff: j.xff, forwarded: j.forwarded });
        });
      })
      .on('error', reject);
  });
}

test(
  'trusted_proxies 127.0.0.0/8: the forwarded client is the client (upstream headers, rate limit, access log)',
  { timeout: 60_000 },
  async () => {
    const { seen, log } = await run(', trusted_proxies: ["127.0.0.0/8"]', [
      '203.0.113.9',
      '198.51.100.7',
      '203.0.113.9',
      // a spoofed left part does not help: the right-most untrusted entry is the client
      '192.0.2.1, 203.0.113.9',
    ]);
    assert.deepEqual(
      seen.map((s) => s.status),
      [200, 200, 429, 429],
      'two clients, two buckets; the same client again is limited',
    );
    assert.equal(seen[0]!.xff, '203.0.113.9, 127.0.0.1', 'the incoming chain is appended to');
    assert.equal(seen[1]!.xff, '198.51.100.7, 127.0.0.1');
    assert.match(seen[0]!.forwarded!, /^for=127\.0\.0\.1;host="127\.0\.0\.1:\d+";proto=http$/);
    assert.deepEqual(
      log.map((l) => [l.clientIp, l.status]),
      [
        ['203.0.113.9', 200],
        ['198.51.100.7', 200],
        ['203.0.113.9', 429],
        ['203.0.113.9', 429],
      ],
    );
  },
);

test(
  'without trusted_proxies the peer is the client: forwarding headers replaced, one bucket',
  { timeout: 60_000 },
  async () => {
    const { seen, log } = await run('', ['203.0.113.9', '198.51.100.7']);
    assert.deepEqual(
      seen.map((s) => s.status),
      [200, 429],
    );
    assert.equal(seen[0]!.xff, '127.0.0.1', 'a client cannot forge its address');
    assert.deepEqual(
      log.map((l) => l.clientIp),
      ['127.0.0.1', '127.0.0.1'],
    );
  },
);

test('trusted_proxies: an entry that is not an address or CIDR is refused with its file:line', () => {
  const text = `
gateway:
  trusted_proxies:
    - 10.0.0.0/8
    - 10.0.0.0/40
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
`;
  assert.throws(
    () => parseConfig(text, '/tmp/luascale.yaml'),
    (err: LuascaleError) =>
      err.code === 'LS_ERR_CONFIG_INVALID' &&
      /luascale\.yaml:5 gateway\.trusted_proxies\.1: "10\.0\.0\.0\/40" must be an IPv4 or IPv6 address or CIDR/.test(
        err.message,
      ),
  );
});
