/**
 * `services.<name>.upstream` and the health settings docs/gateway.md documents, through the config
 * and `luascale up` (startApp): accepted, and in effect (issue 17 item 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { gatewayOptions } from '../../src/app/gateway-options.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { getStatus } from '../helpers/get-status.js';

const services = (port: number) => `
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, interval: 1s, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
    upstream: { connections: 2, keep_alive: 2s }
    health:
      timeout: 250ms
      consecutive_errors: 1
      base_ejection: 1m
      max_ejection: 10m
      max_ejection_percent: 100
      slow_start: 0s
      slow_start_min_weight: 0.5
`;

test('upstream and health settings are accepted and mapped onto the gateway (ms)', () => {
  const config = parseConfig(services(1), '/tmp/luascale.yaml');
  const web = gatewayOptions(config).services.web!;
  assert.deepEqual(web.upstream, { connections: 2, keep_alive: 2000 });
  assert.deepEqual(
    {
      timeout: web.health?.timeout,
      consecutive_errors: web.health?.consecutive_errors,
      base_ejection: web.health?.base_ejection,
      max_ejection: web.health?.max_ejection,
      max_ejection_percent: web.health?.max_ejection_percent,
      slow_start_min_weight: web.health?.slow_start_min_weight,
    },
    {
      timeout: 250,
      consecutive_errors: 1,
      base_ejection: 60_000,
      max_ejection: 600_000,
      max_ejection_percent: 100,
      slow_start_min_weight: 0.5,
    },
  );
  assert.throws(
    () => parseConfig(services(1).replace('connections: 2', 'connections: 0'), '/tmp/luascale.yaml'),
    /services\.web\.upstream\.connections/,
  );
});

test(
  'luascale up: connections bound the admission limit; consecutive_errors 1 ejects on one 5xx',
  { timeout: 60_000 },
  async () => {
    const upstream = createServer((req, res) => {
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end('ok');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-up-'));
    let app: LuascaleApp | undefined;
    try {
      const text = `
gateway: { listen: "127.0.0.1:0", access_log: off }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/luascale.db" }
${services(port)}`;
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
      assert.equal(app.gateway.admissionStats('web').limit, 2, 'per instance: its two connections');
      assert.equal(await getStatus(`${app.gatewayUrl}/ok`), 200);
      assert.equal(app.gateway.instances('web')[0]!.health, 'healthy');
      assert.equal(await getStatus(`${app.gatewayUrl}/fail`), 500);
      assert.equal(
        app.gateway.instances('web')[0]!.health,
        'ejected',
        'one error in a row ejects (default 5)',
      );
    } finally {
      await app?.close({ graceMs: 100 });
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('gateway.keep_alive_timeout is accepted, mapped (ms, default 5 s) and closes an idle client connection', async () => {
  const base = parseConfig(services(1), '/tmp/luascale.yaml');
  assert.equal(gatewayOptions(base).keep_alive_timeout, 5000);
  assert.throws(
    () => parseConfig(`gateway: { keep_alive_timeout: 0s }\n${services(1)}`, '/tmp/luascale.yaml'),
    /gateway\.keep_alive_timeout/,
  );
  const up = createServer((_req, res) => res.end('ok'));
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  const port = (up.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-keepalive-'));
  const yaml = `gateway: { listen: "127.0.0.1:0", access_log: "off", keep_alive_timeout: 300ms }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/local.db" }
${services(port)}`;
  const config = parseConfig(yaml, join(dir, 'luascale.yaml'));
  assert.equal(gatewayOptions(config).keep_alive_timeout, 300);
  const app = await startApp({ config, file: join(dir, 'luascale.yaml'), baseDir: dir });
  try {
    const url = new URL(app.gatewayUrl);
    const sock = connect(Number(url.port), url.hostname);
    await once(sock, 'connect');
    let got = '';
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    let status = 503;
    // the static target reaches the gateway once the provider reports it: ask until it answers
    for (let i = 0; i < 200 && status !== 200; i++) {
      got = '';
      sock.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
      while (!/\r\n\r\n[\s\S]*$/.test(got) || !/content-length: (\d+)/i.test(got)) await once(sock, 'data');
      status = Number(got.slice(9, 12));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(status, 200);
    const idleFrom = Date.now();
    await once(sock, 'close'); // the gateway closes the idle keep-alive connection
    assert.ok(Date.now() - idleFrom < 4000, `closed after ${Date.now() - idleFrom} ms, not the 300 ms set`);
  } finally {
    await app.close({ graceMs: 200 });
    up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
