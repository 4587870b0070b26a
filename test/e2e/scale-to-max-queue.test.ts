/**
 * Issue 17 item 4 on real processes: a step from 20 to 200 rps while the service scales to `max`
 * with instances that take 2 s to start. Before the fix the gateway shed every request beyond
 * `per_instance × ready` with 503 at_capacity as soon as the decision reached `max`, while the new
 * instances were still starting; now they wait in the queue (the expected wait fits the deadline)
 * and every request is served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import type { AdminEvent } from '../../src/admin/admin-server.js';
import { runLoad, parsePattern } from '../../src/loadgen/index.js';

const backend = resolve('examples/demo-backend/server.mjs');

test(
  'step 20 → 200 rps while scaling to max with a 2 s start: 0 failed requests, queued instead (#17 item 4)',
  { timeout: 90_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-e2e-max-'));
    // One instance serves 8 × (1000 / 50 ms) = 160 rps: 200 rps saturates it until the two
    // instances the decision asks for (max 3) are ready, 2 s after they are started.
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off", drain_timeout: 5s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/e2e.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        env: { READY_DELAY_MS: "2000" }
        log_dir: "${dir}/logs"
        stop_grace: 5s
    scaling:
      min: 1
      max: 3
      interval: 1s
      window: 2s
      policy: { builtin: target-tracking, params: { metric: rps, target: 60 } }
    traffic:
      concurrency: { per_instance: 8 }
      queue: { max: 2000, timeout: 20s }
`;
    const config = parseConfig(text, join(dir, 'luascale.yaml'));
    const events: Array<AdminEvent & { t: number }> = [];
    const app = await startApp(
      { config, file: join(dir, 'luascale.yaml'), baseDir: dir },
      { onEvent: (e) => events.push({ ...e, t: Date.now() }) },
    );
    try {
      const provider = app.providers.get('web')!;
      await new Promise<void>((done) => {
        if (provider.list().some((i) => i.state === 'ready')) return done();
        const off = provider.on('ready', () => (off(), done()));
      });
      const start = Date.now();
      const summary = await runLoad({
        url: `${app.gatewayUrl}/slow?ms=50`,
        pattern: parsePattern('step:20,200@3s'),
        durationMs: 12_000,
        maxRequests: 3000,
        maxInFlight: 2000,
        timeoutMs: 30_000,
      });
      const decisions = events
        .filter((e) => e.type === 'decision')
        .map((e) => ({ t: (e.t - start) / 1000, ...(e.data as any) }));
      const atMax = decisions.find((d) => d.replicas === 3);
      assert.ok(
        atMax,
        `never scaled to max: ${JSON.stringify(decisions.map((d) => [d.t, d.current, d.replicas, d.reason]))}`,
      );
      const readyAfter = events.filter(
        (e) => e.type === 'instance' && (e.data as any).state === 'ready' && e.t - start > atMax.t * 1000,
      );
      assert.ok(readyAfter.length >= 1, 'instances became ready after the decision reached max');
      assert.equal(summary.errors, 0, JSON.stringify(summary.errorKinds));
      assert.equal(summary.dropped, 0);
      assert.equal(summary.status503 + summary.status429, 0, JSON.stringify(summary.statuses));
      assert.equal(summary.ok, summary.sent, 'every request answered 2xx while capacity was coming');
      const queued = app.gateway.admissionStats('web');
      process.stdout.write(
        `# max at ${atMax.t.toFixed(1)} s; requests ${summary.sent}; p99 ${summary.latencyMs.p99} ms; queue now ${queued.queue}\n`,
      );
    } finally {
      await app.close({ graceMs: 5000 });
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
