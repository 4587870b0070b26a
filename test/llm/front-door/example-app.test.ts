/**
 * examples/llm/luascale.yaml runs as it is (only its listeners on port 0 and its SQLite file in a
 * temporary directory): two llm-sim processes become ready, a key created for `demo` through the
 * admin API lets the official openai and @anthropic-ai/sdk clients, streaming and not, get answers,
 * every answer leaves a ledger row in the store, and a request without the key is refused 401.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { parseConfig } from '../../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../../src/app/luascale-app.js';

const FILE = resolve('examples/llm/luascale.yaml');

test('examples/llm/luascale.yaml serves the openai and anthropic clients with a key of consumer demo', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-llm-example-'));
  const text = readFileSync(FILE, 'utf8');
  const as = parseConfig(text, FILE);
  assert.equal(as.gateway.listen, '127.0.0.1:8080');
  assert.equal(as.admin.listen, '127.0.0.1:9090');
  // the store in a temporary directory: the one change to the example
  const config = parseConfig(
    text.replace('sqlite: ./luascale.db', `sqlite: ${join(dir, 'luascale.db')}`),
    FILE,
  );
  assert.equal(config.store.sqlite, join(dir, 'luascale.db'));
  let app: LuascaleApp | undefined;
  try {
    let wake: () => void = () => {};
    const tick = () => new Promise<void>((r) => (wake = r));
    app = await startApp(
      { config, file: FILE, baseDir: resolve('examples/llm') },
      { gatewayListen: '127.0.0.1:0', adminListen: '127.0.0.1:0', onDecision: () => wake() },
    );
    const ready = () => app!.gateway.instances('chat').filter((i) => i.state === 'ready').length;
    for (let i = 0; i < 60 && ready() < 2; i++) await tick();
    assert.equal(ready(), 2);

    const created = await fetch(`${app.adminUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ consumer: 'demo' }),
    });
    assert.equal(created.status, 201);
    const { key, id } = (await created.json()) as { key: string; id: string };

    const oa = new OpenAI({ apiKey: key, baseURL: `${app.gatewayUrl}/v1`, maxRetries: 0 });
    const msg = [{ role: 'user' as const, content: 'hello' }];
    const r = await oa.chat.completions.create({ model: 'llm-sim', messages: msg, max_tokens: 8 });
    assert.ok(r.choices[0]!.message.content!.length > 0);
    let streamed = '';
    for await (const c of await oa.chat.completions.create({
      model: 'llm-sim',
      messages: msg,
      stream: true,
      max_tokens: 8,
    }))
      streamed += c.choices[0]?.delta.content ?? '';
    assert.ok(streamed.length > 0);

    const an = new Anthropic({ apiKey: key, baseURL: app.gatewayUrl, maxRetries: 0 });
    const m = await an.messages.create({ model: 'llm-sim', max_tokens: 8, messages: msg });
    assert.ok((m.content[0] as { text: string }).text.length > 0);
    const final = await an.messages.stream({ model: 'llm-sim', max_tokens: 8, messages: msg }).finalMessage();
    assert.ok(final.usage.output_tokens > 0);

    const anonymous = new OpenAI({ apiKey: 'lsk_nope', baseURL: `${app.gatewayUrl}/v1`, maxRetries: 0 });
    await assert.rejects(
      anonymous.chat.completions.create({ model: 'llm-sim', messages: msg }),
      (err: unknown) => err instanceof OpenAI.AuthenticationError,
    );
    // No engine scrape here (llm.engine none): the llm.* figures come from the streams themselves.
    const obs = (await app.controllers.get('chat')!.tick()).inputs as unknown as {
      llm?: { ttft?: { p50?: number }; itl?: { p50?: number } };
    };
    assert.ok((obs.llm?.ttft?.p50 ?? -1) > 0, JSON.stringify(obs.llm));
    assert.ok((obs.llm?.itl?.p50 ?? -1) > 0, JSON.stringify(obs.llm));
    const rows = await app.store.usage.query({ consumer: 'demo' });
    assert.equal(rows.length, 4);
    assert.ok(rows.every((row) => row.usageSource === 'reported' && row.costUsd > 0));
    // The key's public id, never the key: the ledger can be summarised per key.
    assert.ok(rows.every((row) => row.keyId === id && !JSON.stringify(row).includes(key)));
  } finally {
    await app?.close({ graceMs: 100 });
    rmSync(dir, { recursive: true, force: true });
  }
});
