/**
 * The app's engine and routing wiring (src/app/llm-routing.ts) from a config: llm.engine and
 * llm.routing reach the scraper, the llm balancer, the hold gate and the observation's llm group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load-config.js';
import { llmRoutingFromConfig, withLlmBalancers } from '../../../src/app/llm-routing.js';
import { startLlmSim } from '../../../src/llm-sim/index.js';

const yaml = (engine: string, balancer = 'llm') => `
services:
  chat:
    provider:
      static:
        targets: ['http://127.0.0.1:1']
    llm:
      engine: ${engine}
      routing:
        balancer: ${balancer}
        queue_threshold: 2
        kv_threshold: 0.9
        weights: { queue: 1, kv: 1, tokens: 0.5, prefix: 3 }
        prefix_capacity: 1024
        scrape_timeout: 5s
      models:
        m:
          backends:
            - instances: { format: openai }
  web:
    provider:
      static:
        targets: ['http://127.0.0.1:2']
`;

test('llm.engine vllm: a scrape fills the llm group; queue_threshold from the config saturates and holds', async () => {
  const sim = await startLlmSim({
    port: 0,
    timeScale: 1,
    maxNumSeqs: 1,
    itlMs: 200,
    outputTokens: { min: 20, max: 20 },
  });
  try {
    const config = parseConfig(yaml('vllm'), 'luascale.yaml');
    let now = 0;
    const r = llmRoutingFromConfig(config, { now: () => now, intervalMs: 1000 })!;
    assert.ok(r.balancer('chat') !== undefined);
    assert.equal(r.balancer('web'), undefined);
    assert.equal(r.hold('web'), undefined);
    const hold = r.hold('chat')!;
    const targets = [{ id: 'a', url: sim.url }];
    let ticked = 0;
    await r.scrapeAll(
      () => targets,
      () => ticked++,
    );
    assert.equal(ticked, 1);
    assert.equal(hold(), false);
    assert.deepEqual(r.signals.group('chat'), { waiting: 0, running: 0, kv_util: 0 });
    // one running (max-num-seqs 1) and two waiting: queue 2 >= queue_threshold 2
    const body = JSON.stringify({ model: 'llm-sim', prompt: 'hello', max_tokens: 20 });
    const cancel = new AbortController(); // once seen, the 12 s of answers are not waited for
    const reqs = [0, 1, 2].map(() =>
      fetch(`${sim.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: cancel.signal,
      })
        .then((res) => res.text())
        .catch((err: Error) => err.name),
    );
    while (sim.load().waiting < 2) await new Promise((res) => setImmediate(res));
    now = 500;
    await r.scrapeAll(() => targets);
    assert.equal(r.signals.group('chat')!.waiting, 2);
    assert.equal(hold(), true, 'every instance saturated: admission holds');
    cancel.abort();
    assert.deepEqual(await Promise.all(reqs), ['AbortError', 'AbortError', 'AbortError']);
  } finally {
    await sim.close();
  }
});

test('llm.routing.balancer: service keeps the service balancer; withLlmBalancers sets only llm ones', () => {
  const own = llmRoutingFromConfig(parseConfig(yaml('none', 'service'), 'luascale.yaml'), {
    now: () => 0,
    intervalMs: 1000,
  })!;
  assert.equal(own.balancer('chat'), undefined);
  const r = llmRoutingFromConfig(parseConfig(yaml('none'), 'luascale.yaml'), {
    now: () => 0,
    intervalMs: 1000,
  })!;
  const services: Record<string, { balancer?: object }> = {
    chat: {},
    web: { balancer: { algorithm: 'round-robin' } },
  };
  const opts = withLlmBalancers({ services }, r);
  assert.equal((opts.services.chat!.balancer as { custom?: unknown }).custom, r.balancer('chat'));
  assert.deepEqual(opts.services.web, { balancer: { algorithm: 'round-robin' } });
});
