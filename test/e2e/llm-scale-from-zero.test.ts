/**
 * Scale from zero for models (issue 20 must-show): an AI service with `min: 0` and no instance gets
 * 20 streaming chat requests; they wait in the bounded queue while the first llm-sim starts (a
 * 5 s cold start: `llm-sim --startup-delay 5s`, a real process) and becomes ready only after its
 * health check AND the warm-up completion pass. 0 errors, the first byte within the cold start
 * (the requests → the first instance ready) + 200 ms, and the 21st request beyond the queue's cap of 20 is
 * refused 429 with Retry-After in OpenAI's error format. A second test: a warm-up that fails keeps
 * the instance out of service even though its health check passes.
 * Synchronisation waits on the app's decision events and on responses, never on sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';

const CLI = resolve('test/fixtures/luascale-cli.ts');

function configText(dir: string, o: { simFlags: string; startTimeout: string; interval: string }): string {
  const sim = `exec ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(CLI)} llm-sim --port "$PORT" ${o.simFlags}`;
  return `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: ${JSON.stringify(join(dir, 'db.sqlite'))} }
services:
  chat:
    routes: [{ path_prefix: "/v1/" }]
    provider:
      process:
        command: [sh, -c, ${JSON.stringify(sim)}]
        cwd: ${JSON.stringify(resolve('.'))}
        health_path: /health
        start_timeout: ${o.startTimeout}
        stop_grace: 1s
        log_dir: ${JSON.stringify(join(dir, 'logs'))}
    scaling:
      min: 0
      max: 1
      interval: ${o.interval}
      policy: { builtin: target-tracking, params: { metric: queue, target: 1000 } }
      behavior:
        scale_down: { stabilization: 10m }
    traffic:
      queue: { max: 20, timeout: 30s }
    llm:
      models:
        llm-sim:
          backends: [{ instances: { format: openai } }]
          ttft_timeout: 10s
`;
}

async function withApp(
  simFlags: string,
  body: (app: LuascaleApp, decided: () => Promise<void>) => Promise<void>,
  o: { startTimeout?: string; interval?: string } = {},
): Promise<void> {
  const { startTimeout = '30s', interval = '100ms' } = o;
  const dir = mkdtempSync(join(tmpdir(), 'ls-llm-zero-'));
  const file = join(dir, 'luascale.yaml');
  let wake: () => void = () => {};
  const decided = () => new Promise<void>((r) => (wake = r));
  let app: LuascaleApp | undefined;
  try {
    app = await startApp(
      {
        config: parseConfig(configText(dir, { simFlags, startTimeout, interval }), file),
        file,
        baseDir: dir,
      },
      { onDecision: () => wake() },
    );
    await body(app, decided);
  } finally {
    await app?.close({ graceMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

const chat = (url: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'llm-sim',
      messages: [{ role: 'user', content: 'hello from zero' }],
      max_tokens: 8,
      stream: true,
    }),
  });

test(
  '0 instances, 20 streaming requests, a 5 s cold start: 0 errors, first byte within cold start + 200 ms, the 21st gets 429',
  { timeout: 120_000 },
  async () => {
    await withApp('--startup-delay 5s --max-seqs 32 --output-tokens 8', async (app, decided) => {
      assert.equal(app.gateway.instances('chat').length, 0);
      let readyMs = 0;
      app.providers.get('chat')!.on('ready', () => (readyMs = performance.now() - t0));
      const t0 = performance.now();
      const wall0 = Date.now();
      const firstByteMs: number[] = [];
      const results = Array.from({ length: 20 }, async () => {
        const res = await chat(app.gatewayUrl);
        const reader = res.body!.getReader();
        let text = '';
        let first = true;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (first) firstByteMs.push(performance.now() - t0);
          first = false;
          text += new TextDecoder().decode(value);
        }
        return { status: res.status, text };
      });
      // the 21st only once all 20 wait in the queue (the controller's observation says so)
      for (let i = 0; i < 100; i++) {
        await decided();
        if (app.controllers.get('chat')!.status().lastObservation?.queue === 20) break;
      }
      const over = await chat(app.gatewayUrl);
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers.get('retry-after')) >= 1, 'Retry-After on the 429');
      const err = (await over.json()) as { error: { message: string } };
      assert.match(err.error.message, /queue full/);

      const done = await Promise.all(results);
      assert.deepEqual(
        done.map((r) => r.status),
        Array(20).fill(200),
      );
      assert.ok(done.every((r) => r.text.includes('data: [DONE]') && !r.text.includes('"error"')));
      const inst = app.providers.get('chat')!.list()[0]!;
      // The cold start as the clients see it: from their requests to the first instance ready (the
      // decision, the launch, llm-sim's 5 s load, its health check and the warm-up completion).
      const first = Math.min(...firstByteMs);
      console.log(
        `# cold start ${readyMs.toFixed(0)} ms (launched after ${inst.startedAt - wall0} ms, launch → ready ${inst.readyAt! - inst.startedAt} ms); ` +
          `first byte after ${first.toFixed(0)} ms (last ${Math.max(...firstByteMs).toFixed(0)} ms)`,
      );
      assert.ok(inst.readyAt! - inst.startedAt >= 5000, 'the 5 s startup delay is part of the cold start');
      assert.ok(
        first <= readyMs + 200,
        `first byte ${first.toFixed(0)} ms > cold start ${readyMs.toFixed(0)} + 200 ms`,
      );

      // the warm-up completion reached the instance before any client request: 21 successes there
      const metrics = await (await fetch(`${inst.url}/metrics`)).text();
      const success = metrics
        .split('\n')
        .filter((l) => l.startsWith('vllm:request_success_total'))
        .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
      assert.equal(success, 21);
    });
  },
);

test(
  'an instance whose health check passes but whose warm-up fails never counts as ready',
  { timeout: 120_000 },
  async () => {
    await withApp(
      '--fault 500',
      async (app) => {
        const provider = app.providers.get('chat')!;
        const failed = new Promise<string>((r) => provider.on('failed', (_i, reason) => r(reason)));
        // queues (answered 503 when the app closes), and makes the controller start an instance
        const res = chat(app.gatewayUrl).catch(() => undefined);
        const reason = await failed;
        assert.match(reason, /warm-up POST \/v1\/chat\/completions → 500/);
        assert.equal(app.gateway.instances('chat').filter((i) => i.state === 'ready').length, 0);
        void res;
      },
      { startTimeout: '10s' },
    );
  },
);

test(
  'the first request waiting with no ready instance wakes the controller at once, not at its next tick',
  { timeout: 60_000 },
  async () => {
    await withApp(
      '--startup-delay 1s',
      async (app, decided) => {
        const controller = app.controllers.get('chat')!;
        while (controller.status().lastObservation === null) await decided(); // the start's tick
        const t0 = performance.now();
        const next = decided();
        const res = chat(app.gatewayUrl).catch(() => undefined);
        await next;
        const ms = performance.now() - t0;
        console.log(`# decision ${ms.toFixed(0)} ms after the request (interval 20 s)`);
        assert.ok(ms < 5000, `decided ${ms.toFixed(0)} ms after the request, not at once`);
        assert.equal(controller.status().lastDecision?.replicas, 1);
        void res;
      },
      { interval: '20s' },
    );
  },
);
