/**
 * `gateway.workers: 2` with `store.redis`: each worker's front door reserves against the consumer's
 * token budget in Redis (one budget for the two workers) and appends its ledger rows to the
 * cluster's Redis ledger, which the admin API (the primary) reads. Before, workers built the front
 * door without a limiter or a ledger: budgets were not enforced and rows were lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load-config.js';
import { startApp } from '../../../src/app/luascale-app.js';
import { startLlmSim } from '../../../src/llm-sim/index.js';
import { runCli } from '../../helpers/run-cli.js';
import { startRedisOrSkip } from '../../cluster/redis-server.js';

test(
  'workers: 2 share one token budget through Redis, and their ledger rows reach GET /v1/usage',
  { timeout: 90_000 },
  async (t) => {
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const sim = await startLlmSim({
      port: 0,
      timeScale: 0.01,
      models: ['m'],
      outputTokens: { min: 200, max: 200 },
    });
    const dir = mkdtempSync(join(tmpdir(), 'ls-llm-w-'));
    const yaml = `
gateway: { listen: "127.0.0.1:0", access_log: "off", workers: 2 }
admin: { listen: "127.0.0.1:0" }
store: { redis: "${redis.url}", sqlite: "${dir}/local.db" }
consumers:
  demo: { limits: { tokens_per_minute: 300 } }
services:
  ai:
    auth: key
    provider: { static: { targets: ["${sim.url}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
    llm:
      models:
        m: { backends: [{ instances: {} }] }
`;
    const app = await startApp({
      config: parseConfig(yaml, join(dir, 'luascale.yaml')),
      file: join(dir, 'luascale.yaml'),
      baseDir: dir,
    });
    try {
      const created = await runCli('keys', 'create', '--consumer', 'demo', '--admin', app.adminUrl);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.trim();
      const ask = async (maxTokens: number) =>
        fetch(`${app.gatewayUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({
            model: 'm',
            messages: [{ role: 'user', content: 'hi' }],
            max_tokens: maxTokens,
          }),
        });
      // the static target reaches the workers through the registry: wait for the first answer
      let first = await ask(10);
      for (let i = 0; i < 200 && first.status === 503; i++) {
        await first.text();
        await new Promise((r) => setImmediate(r));
        first = await ask(10);
      }
      assert.equal(first.status, 200, await first.clone().text());
      await first.text();
      // 8 concurrent requests reserving ~210 each against 300 (18 spent): one budget for both workers
      // admits one; each uses all its 200 output tokens, so settling gives nothing back in the minute
      const statuses = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const r = await ask(200);
          await r.text();
          return r.status;
        }),
      );
      assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 429).length, 7);
      // the rows (2 admitted requests) are in the cluster's ledger, read by the primary's admin API
      let groups: Array<{ requests: number }> = [];
      for (let i = 0; i < 200; i++) {
        const u = (await (await fetch(`${app.adminUrl}/v1/usage?by=consumer`)).json()) as {
          groups: typeof groups;
        };
        groups = u.groups;
        if (groups[0]?.requests === 2) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(groups[0]?.requests, 2);
    } finally {
      await app.close({ graceMs: 500 });
      await sim.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
