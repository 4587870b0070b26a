/**
 * Ecosystem (issue 8): a real Prometheus (Debian package `prometheus`) scrapes a running luascale's
 * admin /metrics every second, and luascale's PrometheusSource reads it back with PromQL instant
 * queries. `promtool check metrics` (same package) must accept the exposition.
 * Skips with a message when the binaries are missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { prometheusSource } from '../../src/sources/index.js';
import { findBinary, startDaemon } from './daemon.js';

const prometheusBin = findBinary('/usr/bin/prometheus', '/usr/local/bin/prometheus');
const promtoolBin = findBinary('/usr/bin/promtool', '/usr/local/bin/promtool');
const missing =
  !prometheusBin || !promtoolBin ? 'prometheus/promtool not installed (apt-get install prometheus)' : false;

/** Starts luascale (static provider → a tiny in-test upstream); returns it and a way to send traffic. */
async function startLuascale() {
  const upstream = createServer((_req, res) => res.end('ok'));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-prom-'));
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 2 }
`;
  const app: LuascaleApp = await startApp({
    config: parseConfig(text, join(dir, 'luascale.yaml')),
    file: join(dir, 'luascale.yaml'),
    baseDir: dir,
  });
  let sent = 0;
  async function send(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await request(`${app.gatewayUrl}/hello`);
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      sent++;
    }
  }
  return {
    app,
    send,
    sent: () => sent,
    async close() {
      await app.close({ graceMs: 500 });
      upstream.closeAllConnections();
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs promtool with `input` on stdin; resolves with its exit code and output. */
async function promtool(args: string[], input: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(promtoolBin!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  child.stdin.end(input);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

/**
 * Re-reads `read` until `accept` holds or `deadlineMs` passes. Prometheus scrapes on its own 1 s
 * schedule and exposes no event for "scraped", so a bounded retry loop is the only way to wait.
 */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  accept: (v: T) => boolean,
  deadlineMs: number,
  between?: () => Promise<void>,
): Promise<T> {
  const end = performance.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await read();
      if (accept(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > end)
      assert.fail(
        `${what}: not reached within ${deadlineMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await (between ? between() : delay(200));
  }
}

test('promtool check metrics accepts our exposition', { skip: missing, timeout: 30_000 }, async () => {
  const ls = await startLuascale();
  try {
    await ls.send(5);
    const res = await request(`${ls.app.adminUrl}/metrics`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = await res.body.text();
    assert.match(text, /^luascale_requests_total\{.*service="web".*\} 5$/m);
    const r = await promtool(['check', 'metrics'], text);
    assert.equal(r.code, 0, `promtool check metrics failed:\n${r.out}`);
    // And the checker is not vacuous: it does reject a broken exposition.
    const bad = await promtool(
      ['check', 'metrics'],
      '# TYPE luascale_x counter\nluascale_x{a="1"} 1\nluascale_x 1 2 3\n',
    );
    assert.notEqual(bad.code, 0);
  } finally {
    await ls.close();
  }
});

test(
  'a real Prometheus scrapes luascale and PrometheusSource reads it back',
  { skip: missing, timeout: 60_000 },
  async () => {
    const ls = await startLuascale();
    const admin = new URL(ls.app.adminUrl);
    const prom = await startDaemon({
      bin: prometheusBin!,
      files: () => ({
        'prometheus.yml': [
          'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
          'scrape_configs:',
          '  - job_name: luascale',
          `    static_configs: [{ targets: ["${admin.host}"] }]`,
          '',
        ].join('\n'),
      }),
      args: (dir, port) => [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
      ],
      readyLine: /Server is ready to receive web requests/,
    });
    const t0 = performance.now();
    let n = 0;
    // `now` for the sources' cache: a fresh value per read, so every read queries Prometheus.
    const read = (query: string) =>
      prometheusSource({ name: 'q', url: prom.url, query, intervalMs: 1, timeoutMs: 2000 }).read(n++);
    try {
      const up = await until(
        'up{job="luascale"} == 1',
        () => read('up{job="luascale"}'),
        (v) => v === 1,
        15_000,
      );
      assert.equal(up, 1);

      // Traffic keeps flowing while Prometheus takes >= 2 scrapes, so the 5 s rate sees an increase.
      const rate = await until(
        'sum(rate(luascale_requests_total[5s])) > 0',
        () => read('sum(rate(luascale_requests_total[5s]))'),
        (v) => v > 0,
        20_000,
        () => ls.send(10).then(() => delay(100)),
      );
      assert.ok(rate > 0);

      // Traffic stops: the scraped total converges on exactly what the test sent (2xx class).
      const sent = ls.sent();
      const total = await until(
        `sum(luascale_requests_total{service="web",code_class="2xx"}) == ${sent}`,
        () => read('sum(luascale_requests_total{service="web",code_class="2xx"})'),
        (v) => v === sent,
        10_000,
      );
      assert.equal(total, sent);

      // A scalar is a number too; the errors name the source and say what was wrong.
      assert.equal(await read('scalar(up{job="luascale"})'), 1);
      await assert.rejects(read('up{job="no_such_job"}'), /query returned no series \(empty vector\)/);
      await assert.rejects(read('up or vector(1)'), /query returned 2 series .*aggregate it to one/);
      await assert.rejects(
        read('sum('),
        /metric source "q" \(Prometheus http:\/\/127\.0\.0\.1:\d+\/, query sum\(\): Prometheus error \(bad_data\)/,
      );
      await assert.rejects(read('up{job="luascale"}[10s]'), /returned a matrix/);
      console.log(
        `# prometheus: ready+scraped+queried in ${Math.round(performance.now() - t0)} ms, ${sent} requests, rate ${rate.toFixed(2)}/s`,
      );
    } finally {
      await prom.stop();
      await ls.close();
    }
  },
);
