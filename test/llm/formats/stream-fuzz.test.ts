// Whatever a backend sends (golden streams cut anywhere, events dropped, duplicated or replaced by
// junk), the translators never throw and the client's stream ends exactly once, well-formed: the
// last Anthropic event is message_stop or error, the last OpenAI event is [DONE], every data is JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AnthropicToOpenaiStream } from '../../../src/llm/formats/anthropic-to-openai-stream.js';
import { OpenaiToAnthropicStream } from '../../../src/llm/formats/openai-to-anthropic-stream.js';
import { SseParser, type SseEvent } from '../../../src/llm/formats/sse.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK: SseEvent[] = [
  { data: '{"choices":null}' },
  { data: '{"choices":[{"delta":null}]}' },
  { data: '{"choices":[{"index":0,"delta":{"tool_calls":[null,{"index":"x"}]}}]}' },
  { data: '{"type":"content_block_delta","index":7,"delta":{"type":"input_json_delta","partial_json":"{"}}' },
  { data: '{"type":"content_block_start","content_block":null}' },
  { data: '{"type":"message_delta","usage":{"output_tokens":"many"}}' },
  { data: '[1,2,3]' },
  { data: 'null' },
  { data: '' },
  { event: 'weird', data: '{"type":"unknown_event"}' },
  { data: '{"usage":{"prompt_tokens":-5}}' },
];

function mutate(events: SseEvent[], r: () => number): SseEvent[] {
  const out: SseEvent[] = [];
  for (const e of events) {
    const p = r();
    if (p < 0.1) continue;
    if (p < 0.15) out.push(e, e);
    else if (p < 0.25) out.push(JUNK[Math.floor(r() * JUNK.length)]!);
    else out.push(e);
  }
  return out.slice(0, Math.floor(r() * (out.length + 1)) + (r() < 0.5 ? out.length : 0));
}

const FILES = {
  openai: ['openai-chat-text', 'openai-chat-tools', 'openai-chat-error'],
  anthropic: ['anthropic-messages-text', 'anthropic-tool-use', 'anthropic-error'],
};

function load(name: string): SseEvent[] {
  return new SseParser().push(readFileSync(`test/fixtures/llm/${name}.sse`, 'utf8'));
}

test('OpenaiToAnthropicStream: 3,000 mutated OpenAI streams each end exactly once with message_stop or error', () => {
  const r = rng(1);
  for (let i = 0; i < 3000; i++) {
    const events = mutate(load(FILES.openai[i % 3]!), r);
    const t = new OpenaiToAnthropicStream();
    const out = [...events.flatMap((e) => t.push(e)), ...t.end(), ...t.end()];
    const types = out.map((e) => JSON.parse(e.data).type as string);
    const terminal = types.filter((x) => x === 'message_stop' || x === 'error');
    assert.equal(terminal.length, 1, `stream ${i}: ${types.join(',')}`);
    assert.ok(types.at(-1) === 'message_stop' || types.at(-1) === 'error');
    for (const e of out) assert.equal(e.event, JSON.parse(e.data).type);
  }
});

test('AnthropicToOpenaiStream: 3,000 mutated Anthropic streams each end exactly once with [DONE]', () => {
  const r = rng(2);
  for (let i = 0; i < 3000; i++) {
    const events = mutate(load(FILES.anthropic[i % 3]!), r);
    const t = new AnthropicToOpenaiStream({ includeUsage: r() < 0.5, created: 1 });
    const out = [...events.flatMap((e) => t.push(e)), ...t.end(), ...t.end()];
    assert.equal(out.filter((e) => e.data === '[DONE]').length, 1, `stream ${i}`);
    assert.equal(out.at(-1)!.data, '[DONE]');
    for (const e of out.slice(0, -1)) JSON.parse(e.data);
  }
});
