/**
 * The `llm:` settings reach the front door through a real app (issue 17's rule: no setting is
 * accepted and ignored): a hosted Anthropic backend gets the key from `api_key_env` (and the key is
 * in no ledger row), `max_tokens_default` fills the max_tokens an OpenAI client left out,
 * `inter_token_timeout` ends a stalled stream with an error event and [DONE], `max_body` answers
 * 413 in the client's format, and `warm_up` is on by default and off when asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../../src/config/load-config.js';
import { startApp } from '../../../src/app/luascale-app.js';
import { warmUpOf } from '../../../src/app/llm-cold-start.js';

const KEY = 'sk-ant-test-0123456789';
const OPENAI_KEY = 'sk-openai-test-9876543210';

/** A hosted Anthropic Messages API: answers whole, or streams one delta and stalls when asked to. */
async function fakeAnthropic(): Promise<{
  url: string;
  seen: { key?: string; body: Record<string, unknown> }[];
  close(): void;
}> {
  const seen: { key?: string; body: Record<string, unknown> }[] = [];
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += String(c);
    const body = JSON.parse(raw) as Record<string, unknown>;
    if (req.url!.endsWith('/chat/completions')) {
      // the OpenAI-compatible side of the same fake provider
      seen.push({ key: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          created: 1,
          model: String(body.model),
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
        }),
      );
      return;
    }
    seen.push({ key: req.headers['x-api-key'] as string | undefined, body });
    const usage = { input_tokens: 5, output_tokens: 2 };
    if (body.stream !== true) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-x',
          content: [{ type: 'text', text: 'hi there' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (type: string, data: object) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    res.write(
      ev('message_start', {
        message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-x', content: [], usage },
      }) +
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
        ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi' } }),
    );
    // and then nothing: the gateway's inter-token timeout must end the client's stream
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => server.close(() => {}) && server.closeAllConnections(),
  };
}

test('llm settings from a config reach the front door: api_key_env, max_tokens_default, inter_token_timeout, max_body', async () => {
  const upstream = await fakeAnthropic();
  const dir = mkdtempSync(join(tmpdir(), 'ls-llm-config-'));
  const file = join(dir, 'luascale.yaml');
  const config = parseConfig(
    `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: ${JSON.stringify(join(dir, 'db.sqlite'))} }
services:
  ai:
    routes: [{ path_prefix: "/v1/" }]
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    llm:
      max_body: 2048
      models:
        claude:
          backends:
            - anthropic: { base_url: ${JSON.stringify(upstream.url)}, api_key_env: LS_TEST_ANTHROPIC_KEY, model: claude-x }
          ttft_timeout: 5s
          inter_token_timeout: 300ms
          max_tokens_default: 77
        gpt:
          backends:
            - openai: { base_url: ${JSON.stringify(upstream.url)}, api_key_env: LS_TEST_OPENAI_KEY }
`,
    file,
  );
  process.env.LS_TEST_ANTHROPIC_KEY = KEY;
  process.env.LS_TEST_OPENAI_KEY = OPENAI_KEY;
  const app = await startApp(
    { config, file, baseDir: dir },
    { gatewayListen: '127.0.0.1:0', adminListen: '127.0.0.1:0' },
  );
  try {
    const post = (body: unknown) =>
      fetch(`${app.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const msgs = [{ role: 'user', content: 'hello' }];

    const whole = await post({ model: 'claude', messages: msgs });
    assert.equal(whole.status, 200, await whole.clone().text());
    assert.equal(((await whole.json()) as { object: string }).object, 'chat.completion');
    assert.equal(upstream.seen[0]!.key, KEY);
    assert.equal(upstream.seen[0]!.body.max_tokens, 77, 'max_tokens_default fills what the client left out');
    assert.equal(upstream.seen[0]!.body.model, 'claude-x');

    const viaOpenai = await post({ model: 'gpt', messages: msgs });
    assert.equal(viaOpenai.status, 200);
    assert.equal(upstream.seen.at(-1)!.key, `Bearer ${OPENAI_KEY}`);

    const started = Date.now();
    const stalled = await post({ model: 'claude', messages: msgs, stream: true, max_tokens: 5 });
    assert.equal(stalled.status, 200);
    const text = await stalled.text();
    assert.ok(Date.now() - started < 4000, 'ended by the 300 ms inter-token timeout, not the 5 s TTFT one');
    assert.match(text, /"content":"hi"/);
    assert.match(text, /data: \{"error":\{[^\n]*no chunk within 300 ms/);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), text);

    const big = await post({ model: 'claude', messages: [{ role: 'user', content: 'x'.repeat(3000) }] });
    assert.equal(big.status, 413);
    const err = (await big.json()) as { error?: { type?: string } };
    assert.equal(typeof err.error?.type, 'string', 'the 413 is an OpenAI error object');

    const rows = await app.store.usage.query({});
    assert.ok(rows.length >= 2);
    for (const k of [KEY, OPENAI_KEY])
      assert.ok(!JSON.stringify(rows).includes(k), 'no hosted key in the ledger');
  } finally {
    await app.close({ graceMs: 100 });
    upstream.close();
    delete process.env.LS_TEST_ANTHROPIC_KEY;
    delete process.env.LS_TEST_OPENAI_KEY;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llm.warm_up: on by default for a service whose instances serve a model, its timeout applies, off with enabled: false', async () => {
  const yaml = (warm: string) => `
services:
  ai:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    llm:
     ${warm}
      models:
        m: { backends: [{ instances: { format: openai } }] }
`;
  const on = parseConfig(yaml(''), 'x.yaml').services.ai!;
  assert.equal(typeof warmUpOf(on), 'function');
  const tuned = parseConfig(yaml(' warm_up: { enabled: true, timeout: 200ms }'), 'x.yaml').services.ai!;
  // an instance that accepts the warm-up request and never answers: the 200 ms timeout fails it
  const silent = http.createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const r = await warmUpOf(tuned)!(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /200 ms|timeout|timed out/i);
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
  const off = parseConfig(yaml(' warm_up: { enabled: false }'), 'x.yaml').services.ai!;
  assert.equal(warmUpOf(off), undefined);
});

test('an llm service with gateway.workers > 1 and no store.redis is refused at load, naming the line', () => {
  const yaml = `gateway: { workers: 2 }
services:
  ai:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    llm:
      models:
        m: { backends: [{ instances: { format: openai } }] }
`;
  assert.throws(
    () => parseConfig(yaml, '/tmp/luascale.yaml'),
    (err: Error) =>
      /luascale\.yaml:[56] services\.ai\.llm: an llm service with gateway\.workers > 1 needs store\.redis/.test(
        err.message,
      ) && !/\n\s+at /.test(err.message),
  );
  assert.doesNotThrow(() => parseConfig(yaml.replace('workers: 2', 'workers: 1'), '/tmp/luascale.yaml'));
  const redis = yaml.replace('services:', 'store: { redis: "redis://127.0.0.1:1" }\nservices:');
  assert.doesNotThrow(() => parseConfig(redis, '/tmp/luascale.yaml'));
});
