/**
 * `gateway.workers: 2`: the GenAI histograms each worker's front door records reach the primary's
 * /metrics (the workers report them with their own registries on a scrape, and the primary adds
 * them up). Before, workers built the front door without metrics and /metrics had no gen_ai_*
 * series at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load-config.js';
import { startApp } from '../../../src/app/luascale-app.js';
import { startLlmSim } from '../../../src/llm-sim/index.js';
import { startRedisOrSkip } from '../../cluster/redis-server.js';

/** The value of one sample line (`name{labels} value`) whose labels contain every `want`. */
function sample(text: string, name: string, want: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !want.every((w) => line.includes(w))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test(
  'workers: 2 record the GenAI metrics and the primary serves them on /metrics',
  { timeout: 90_000 },
  async (t) => {
    // an llm service with workers needs store.redis (budgets and the ledger are shared there)
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const sim = await startLlmSim({
      port: 0,
      timeScale: 0.01,
      models: ['m'],
      outputTokens: { min: 5, max: 5 },
    });
    const dir = mkdtempSync(join(tmpdir(), 'ls-llm-wm-'));
    const yaml = `
gateway: { listen: "127.0.0.1:0", access_log: "off", workers: 2 }
admin: { listen: "127.0.0.1:0" }
store: { redis: "${redis.url}", sqlite: "${dir}/local.db" }
services:
  ai:
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
      const ask = () =>
        fetch(`${app.gatewayUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
        });
      // the static target reaches the workers through the registry: wait for the first answer
      let first = await ask();
      for (let i = 0; i < 200 && first.status === 503; i++) {
        await first.text();
        await new Promise((r) => setImmediate(r));
        first = await ask();
      }
      assert.equal(first.status, 200, await first.clone().text());
      await first.text();
      // more requests over new connections, so both workers are likely to serve some
      const more = await Promise.all(Array.from({ length: 9 }, async () => (await ask()).status));
      assert.deepEqual(more, Array(9).fill(200));
      const served = sim.stats().totals;
      assert.equal(served.requests, 10);
      const text = await (await fetch(`${app.adminUrl.replace(/\/$/, '')}/metrics`)).text();
      const model = 'gen_ai_request_model="m"';
      assert.equal(
        sample(text, 'gen_ai_client_token_usage_count', [model, 'gen_ai_token_type="input"']),
        10,
        text
          .split('\n')
          .filter((l) => l.startsWith('gen_ai'))
          .join('\n') || 'no gen_ai_* series',
      );
      assert.equal(
        sample(text, 'gen_ai_client_token_usage_sum', [model, 'gen_ai_token_type="input"']),
        served.promptTokens,
      );
      assert.equal(
        sample(text, 'gen_ai_client_token_usage_sum', [model, 'gen_ai_token_type="output"']),
        served.completionTokens,
      );
      assert.equal(sample(text, 'gen_ai_server_time_to_first_token_count', [model]), 10);
    } finally {
      await app.close({ graceMs: 500 });
      await sim.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
