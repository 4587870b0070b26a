/** A custom metric source from luascale.yaml (an HTTP JSON endpoint) reaches ctx.metrics and drives a built-in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

test(
  'an HTTP JSON metric source feeds ctx.metrics; target tracking scales on it',
  { timeout: 30_000 },
  async () => {
    let depth = 35;
    const metrics = createServer((_req, res) => res.end(JSON.stringify({ queue: { depth } })));
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
    const port = (metrics.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-src-'));
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
services:
  worker:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    metrics: [{ name: backlog, http: { url: "http://127.0.0.1:${port}/stats", json_path: "$.queue.depth" }, interval: 100ms }]
    scaling: { min: 1, max: 5, policy: { builtin: target-tracking, params: { metric: backlog, target: 10 } } }
`;
    const app = await startApp({
      config: parseConfig(text, join(dir, 'luascale.yaml')),
      file: join(dir, 'luascale.yaml'),
      baseDir: dir,
    });
    try {
      const d = await app.controllers.get('worker')!.tick();
      assert.equal(d.inputs.metrics!.backlog, 35);
      const o = d.policy.outcome;
      assert.ok(o.ok && o.replicas === 4, `${d.reason}: ${d.message}`); // ceil(35 / 10 per instance)
      assert.ok(d.replicas > 1, 'the decision scales up (as far as the change limits allow)');
      depth = 5;
      metrics.close();
      metrics.closeAllConnections();
    } finally {
      await app.close({ graceMs: 500 });
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a bad JSON path in a metric source stops the start with one clear line', async () => {
  const text = `
services:
  worker:
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
    metrics: [{ name: backlog, http: { url: "http://127.0.0.1:9/stats", json_path: "$.q[*]" } }]
`;
  const dir = mkdtempSync(join(tmpdir(), 'ls-src-bad-'));
  try {
    await assert.rejects(
      startApp({
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      }),
      /services\.worker\.metrics\[0\] \(backlog\): bad JSON path/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
