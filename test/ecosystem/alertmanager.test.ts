/**
 * Ecosystem (issue 8): luascale's webhookNotifier posts to a real Alertmanager's v2 API (Debian
 * package `prometheus-alertmanager`). A firing and then a resolved alert from the AlertEngine both
 * arrive: GET /api/v2/alerts shows the firing one with our labels and drops it once resolved, and
 * Alertmanager's own webhook receiver (pointed back at this test) notifies "firing" then "resolved".
 * Skips with a message when the binary is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { request } from 'undici';
import { AlertEngine } from '../../src/controller/alert-engine.js';
import { webhookNotifier } from '../../src/controller/alert-notifier.js';
import { findBinary, startDaemon } from './daemon.js';

const bin = findBinary(
  '/usr/bin/prometheus-alertmanager',
  '/usr/bin/alertmanager',
  '/usr/local/bin/alertmanager',
);
const missing = bin ? false : 'alertmanager not installed (apt-get install prometheus-alertmanager)';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** Webhook payloads Alertmanager sends us, delivered in order as promises (events, not polling). */
function webhookSink() {
  const queue: unknown[] = [];
  const waiters: Array<(v: unknown) => void> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (b) => (body += b));
    req.on('end', () => {
      res.end();
      const payload = JSON.parse(body);
      const w = waiters.shift();
      if (w) w(payload);
      else queue.push(payload);
    });
  });
  return {
    server,
    next: () =>
      queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise<unknown>((r) => waiters.push(r)),
  };
}

test(
  'webhookNotifier → real Alertmanager v2: firing shows up, resolved goes away, both are notified',
  { skip: missing, timeout: 30_000 },
  async () => {
    const sink = webhookSink();
    sink.server.listen(0, '127.0.0.1');
    await once(sink.server, 'listening');
    const sinkUrl = `http://127.0.0.1:${(sink.server.address() as { port: number }).port}/hook`;
    const am = await startDaemon({
      bin: bin!,
      files: () => ({
        'alertmanager.yml': [
          'route:',
          '  receiver: test',
          '  group_by: [alertname, service]',
          '  group_wait: 0s',
          '  group_interval: 1s',
          '  repeat_interval: 1h',
          'receivers:',
          '  - name: test',
          `    webhook_configs: [{ url: "${sinkUrl}", send_resolved: true }]`,
          '',
        ].join('\n'),
      }),
      args: (dir, port) => [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No gossip: a lone test instance must not look for peers.
        '--cluster.listen-address=',
        '--log.level=info',
      ],
      readyLine: /msg=Listening|Listening on/,
    });
    const errors: Error[] = [];
    const notify = webhookNotifier({
      url: `${am.url}/api/v2/alerts`,
      generatorURL: 'http://luascale.test/',
      onError: (e) => errors.push(e),
    });
    const engine = new AlertEngine({ repeatIntervalMs: 3_600_000 });
    const get = async (query = ''): Promise<AmAlert[]> => {
      const res = await request(`${am.url}/api/v2/alerts${query}`);
      assert.equal(res.statusCode, 200);
      return ((await res.body.json()) as AmAlert[]).filter((a) => a.labels.source === 'luascale');
    };
    try {
      const cond = (active: boolean) => [
        {
          name: 'MetricSourceDown',
          active,
          severity: 'warning' as const,
          message: 'metric source "queue" failed',
        },
      ];
      // Tick times are epoch-like ms (systemClock), which is what the notifier turns into ISO 8601.
      const firing = engine.update('web', cond(true), Date.now() - 2000);
      assert.equal(firing.length, 1);
      await notify(firing);
      assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));

      const shown = await get();
      assert.equal(shown.length, 1);
      const a = shown[0]!;
      assert.deepEqual(
        { alertname: a.labels.alertname, service: a.labels.service, severity: a.labels.severity },
        { alertname: 'MetricSourceDown', service: 'web', severity: 'warning' },
      );
      assert.equal(a.annotations.summary, 'metric source "queue" failed');
      assert.ok(['active', 'unprocessed'].includes(a.status.state), a.status.state);
      assert.ok(Date.parse(a.endsAt) > Date.now(), 'a firing alert ends in the future (resolve_timeout)');
      const hook1 = (await sink.next()) as {
        status: string;
        alerts: Array<{ status: string; labels: Record<string, string> }>;
      };
      assert.equal(hook1.status, 'firing');
      assert.equal(hook1.alerts[0]!.labels.alertname, 'MetricSourceDown');

      const resolved = engine.update('web', cond(false), Date.now());
      assert.deepEqual(
        resolved.map((n) => n.status),
        ['resolved'],
      );
      await notify(resolved);
      assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));
      assert.deepEqual(await get('?active=true'), [], 'resolved alert is no longer active');
      const hook2 = (await sink.next()) as {
        status: string;
        alerts: Array<{ status: string; endsAt: string }>;
      };
      assert.equal(hook2.status, 'resolved');
      assert.ok(Date.parse(hook2.alerts[0]!.endsAt) <= Date.now());

      // A post Alertmanager rejects (404 here) is reported through onError, never thrown.
      await webhookNotifier({ url: `${am.url}/api/v2/alerts/nope`, onError: (e) => errors.push(e) })(firing);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /answered 404/);
    } finally {
      await am.stop();
      sink.server.closeAllConnections();
      sink.server.close();
    }
  },
);
