/** The engine scraper: real llm-sim /metrics in each vocabulary, timeouts mark stale, service sums. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLlmSim } from '../../../src/llm-sim/index.js';
import { createEngineScraper, type FetchText } from '../../../src/llm/engines/engine-scraper.js';
import { LlmInstanceStates } from '../../../src/llm/routing/llm-instance-states.js';

const dir = join(import.meta.dirname, '../../fixtures/engines');

for (const [names, engine] of [
  ['vllm', 'vllm'],
  ['legacy', 'vllm'],
  ['llamacpp', 'llamacpp'],
] as const) {
  test(`scrape: llm-sim with --metric-names ${names} read as ${engine} gives tokens, queue and KV`, async () => {
    const sim = await startLlmSim({ port: 0, metricNames: names, timeScale: 0.01, seed: 1 });
    try {
      let t = 0;
      const states = new LlmInstanceStates();
      const scraper = createEngineScraper({ engine, states, now: () => t });
      const targets = [{ id: 'a', url: sim.url }];
      await scraper.scrape(targets);
      const body = JSON.stringify({
        model: 'llm-sim',
        messages: [{ role: 'user', content: 'hello '.repeat(50) }],
        max_tokens: 8,
      });
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${sim.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.text();
      }
      t = 1000;
      const r = await scraper.scrape(targets);
      assert.equal(r.ok, 1);
      const s = states.signals('a', 1000)!;
      assert.equal(s.waiting, 0);
      assert.equal(s.running, 0);
      assert.equal(typeof s.kvUtil, 'number');
      const prompt = sim.stats().totals.promptTokens;
      assert.equal(s.tokensInRps, prompt); // over one second
      assert.equal(r.service.tokensInRps, prompt);
      if (engine === 'vllm') {
        assert.ok(s.ttftP50! > 0);
        // the second and third requests found the first one's prompt blocks
        assert.ok(s.prefixHitRate! > 0.5, `hit rate ${s.prefixHitRate}`);
      } else assert.equal(s.ttftP50, undefined);
    } finally {
      await sim.close();
    }
  });
}

test('scrape: a timed-out instance is marked stale, its earlier values dropped, and left out of the service sums', async () => {
  const vllm = readFileSync(join(dir, 'vllm.prom'), 'utf8');
  let hang = false;
  const fetchText: FetchText = (url, signal) =>
    url.startsWith('http://b') && hang
      ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      : Promise.resolve(vllm);
  const states = new LlmInstanceStates();
  const scraper = createEngineScraper({ engine: 'vllm', states, now: () => 0, timeoutMs: 20, fetchText });
  // AbortSignal.timeout's timer does not keep the process alive; the gateway's server does
  const alive = setInterval(() => {}, 1000);
  after(() => clearInterval(alive));
  const targets = [
    { id: 'a', url: 'http://a' },
    { id: 'b', url: 'http://b' },
  ];
  let r = await scraper.scrape(targets);
  assert.equal(r.service.waiting, 6);
  assert.equal(r.service.kvUtil, 0.42);
  assert.equal(states.signals('b', 0)?.waiting, 3);
  hang = true;
  r = await scraper.scrape(targets);
  assert.deepEqual(r.stale, ['b']);
  assert.equal(r.service.waiting, 3);
  assert.equal(states.signals('b', 0), undefined);
});

test('scrape: engine none reads nothing', async () => {
  const states = new LlmInstanceStates();
  const fetchText: FetchText = () => Promise.reject(new Error('must not be called'));
  const scraper = createEngineScraper({ engine: 'none', states, now: () => 0, fetchText });
  assert.deepEqual(await scraper.scrape([{ id: 'a', url: 'http://a' }]), { service: {}, ok: 0, stale: [] });
});
