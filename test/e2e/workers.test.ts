/**
 * `gateway.workers: 2` under the real app: two gateway processes share the listener, the demo
 * backend runs behind them, and the primary (controller, admin API) sees the cluster's totals.
 * A known number of requests is counted exactly by the controller's observation and by /metrics;
 * scaling up and down under load fails no request; a worker killed with SIGKILL is replaced and
 * the control loop keeps deciding.
 */
import cluster from 'node:cluster';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import type { Decision } from '../../src/controller/decision.js';
import { runLoad, constantRate } from '../../src/loadgen/index.js';
import { getStatus } from '../helpers/get-status.js';

const backend = resolve('examples/demo-backend/server.mjs');

/** One GET on a fresh connection (so the primary hands connections to both workers). */

/** Re-checks `cond` on every decision tick until it holds, or fails after `ms`. */
async function until<T>(
  what: string,
  ms: number,
  cond: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end)
      assert.fail(`${what} did not happen within ${ms} ms (last: ${JSON.stringify(last ?? v)})`);
    await new Promise<void>((r) => tick.once(r));
  }
}
const tick = {
  waiters: [] as Array<() => void>,
  once(f: () => void) {
    this.waiters.push(f);
  },
  fire() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  },
};
// Waits wake on events: each decision (every 1 s), the provider's instance events and the
// cluster's worker forks and exits (the workers are children of this process).
cluster.on('online', () => tick.fire());
cluster.on('exit', () => tick.fire());

function metricSum(text: string, name: string, filter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes('service="web"') && line.includes(filter))
      sum += Number(line.split(' ').pop());
  }
  return sum;
}

function readyCount(app: LuascaleApp): number {
  return app.providers
    .get('web')!
    .list()
    .filter((i) => i.state === 'ready').length;
}

test(
  'workers: 2 — exact cluster totals, scaling with zero failed requests, a SIGKILLed worker is replaced and the loop keeps deciding',
  { timeout: 90_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-workers-'));
    const text = `
gateway: { listen: "127.0.0.1:0", workers: 2, access_log: "off", drain_timeout: 5s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/w.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        log_dir: "${dir}/logs"
        stop_grace: 5s
    scaling:
      min: 1
      max: 3
      interval: 1s
      window: 30s
      policy: { builtin: target-tracking, params: { metric: rps, target: 100000 } }
    traffic:
      concurrency: { per_instance: 50 }
      queue: { max: 1000, timeout: 10s }
`;
    const decisions: Decision[] = [];
    const app = await startApp(
      {
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      },
      { onDecision: (d) => (decisions.push(d), tick.fire()) },
    );
    for (const e of ['ready', 'exited', 'failed'] as const)
      app.providers.get('web')!.on(e, () => tick.fire());
    const admin = async (path: string, init?: RequestInit) => {
      const r = await fetch(`${app.adminUrl}${path}`, init);
      assert.equal(r.status, 200, `${path}: ${r.status}`);
      return r.headers.get('content-type')?.includes('json') ? r.json() : r.text();
    };
    try {
      const pids = app.gatewayPids();
      assert.equal(pids.length, 2);
      assert.ok(!pids.includes(process.pid), 'requests are served by the worker processes');
      await until('first instance ready', 15_000, () => readyCount(app) === 1 || undefined);

      // 1. A known number of requests, counted exactly by the primary.
      const N = 240;
      const statuses: number[] = [];
      for (let i = 0; i < N; i += 8) {
        statuses.push(
          ...(await Promise.all(Array.from({ length: 8 }, () => getStatus(`${app.gatewayUrl}/slow?ms=2`)))),
        );
      }
      assert.deepEqual([...new Set(statuses)], [200]);
      const metrics = (await until('/metrics counts every request', 10_000, async () => {
        const m = (await admin('/metrics')) as string;
        return metricSum(m, 'luascale_requests_offered_total') === N ? m : undefined;
      })) as string;
      assert.equal(metricSum(metrics, 'luascale_requests_total', 'code_class="2xx"'), N);
      assert.equal(metricSum(metrics, 'luascale_request_duration_seconds_count'), N);
      // the controller's observation: offered rate over the 30 s window × 30 = every request
      const svc = (await until('the observation counts every request', 10_000, async () => {
        const s = (await admin('/v1/services/web')) as any;
        return s.signals && Math.round(s.signals.rps * 30) === N ? s : undefined;
      })) as any;
      assert.equal(svc.signals.error_rate, 0);
      assert.ok(
        svc.signals.latency.p50 >= 2,
        `p50 ${svc.signals.latency.p50} ms covers the 2 ms the backend slept`,
      );
      assert.equal(svc.instances.length, 1);
      assert.equal(svc.instances[0].health, 'healthy');

      // 2. Scale up to 3 and back to 1 under load: no request fails.
      const load = runLoad({
        url: `${app.gatewayUrl}/slow?ms=20`,
        pattern: constantRate(60),
        durationMs: 14_000,
        maxRequests: 2000,
        maxInFlight: 200,
        timeoutMs: 10_000,
      });
      await admin('/v1/services/web/scale', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ replicas: 3 }),
      });
      await until('3 ready instances', 20_000, () => readyCount(app) === 3 || undefined);
      await until(
        'the admin API lists 3 instances',
        5_000,
        async () => ((await admin('/v1/services/web')) as any).instances.length === 3 || undefined,
      );
      await admin('/v1/services/web/scale', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ replicas: 1 }),
      });
      await until(
        'back to 1 instance',
        20_000,
        () => app.providers.get('web')!.list().length === 1 || undefined,
      );
      const summary = await load;
      assert.equal(summary.errors, 0, `errors: ${JSON.stringify(summary.errorKinds)}`);
      assert.equal(summary.ok, summary.sent, `statuses: ${JSON.stringify(summary.statuses)}`);
      assert.ok(summary.sent > 300);

      // 3. SIGKILL one worker under load: it is replaced and the loop keeps deciding.
      const victim = app.gatewayPids()[0]!;
      const load2 = runLoad({
        url: `${app.gatewayUrl}/slow?ms=5`,
        pattern: constantRate(50),
        durationMs: 5_000,
        maxRequests: 1000,
        maxInFlight: 100,
        timeoutMs: 5_000,
      });
      await until('load running', 5_000, () => decisions.length > 0 || undefined);
      process.kill(victim, 'SIGKILL');
      const before = decisions.length;
      await until('a replacement worker', 15_000, () => {
        const p = app.gatewayPids();
        return (p.length === 2 && !p.includes(victim)) || undefined;
      });
      await until(
        '3 more decisions after the kill',
        10_000,
        () => decisions.length >= before + 3 || undefined,
      );
      const after = await load2;
      assert.ok(
        after.ok > after.sent * 0.8,
        `most requests still served: ${JSON.stringify(after.statuses)} ${JSON.stringify(after.errorKinds)}`,
      );
      const again = await Promise.all(
        Array.from({ length: 10 }, () => getStatus(`${app.gatewayUrl}/slow?ms=1`)),
      );
      assert.deepEqual([...new Set(again)], [200]);
    } finally {
      await app.close({ graceMs: 2000 });
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
