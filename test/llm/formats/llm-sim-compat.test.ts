// llm-sim's own stream and response builders (the test double of the next issue) through the
// translators: for many completions, chunkings and cache hits, the client of the other format
// gets the same text and the same usage llm-sim counted, streaming or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnthropicStream, anthropicResponse } from '../../../src/llm-sim/anthropic-format.js';
import { OpenAiStream, openAiResponse } from '../../../src/llm-sim/openai-format.js';
import type { SimCompletion } from '../../../src/llm-sim/sim-request.js';
import { AnthropicToOpenaiStream } from '../../../src/llm/formats/anthropic-to-openai-stream.js';
import {
  anthropicResponseToOpenaiChat,
  openaiChatResponseToAnthropic,
} from '../../../src/llm/formats/chat-response.js';
import { OpenaiToAnthropicStream } from '../../../src/llm/formats/openai-to-anthropic-stream.js';
import { formatSseAll, SseParser, type SseEvent } from '../../../src/llm/formats/sse.js';
import {
  AnthropicStreamUsage,
  OpenaiStreamUsage,
  usageFromAnthropic,
  usageFromOpenai,
} from '../../../src/llm/formats/usage.js';

/** A small deterministic generator (mulberry32). */
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

const WORDS = [
  'the',
  ' quick',
  ' brown',
  ' fox',
  ' jumps',
  ' — ',
  'über',
  ' 😀',
  '\n',
  ' "quoted"',
  ' back\\slash',
];

function completion(r: () => number, i: number): { c: SimCompletion; pieces: string[] } {
  const pieces = Array.from(
    { length: 1 + Math.floor(r() * 12) },
    () => WORDS[Math.floor(r() * WORDS.length)]!,
  );
  const prompt = 5 + Math.floor(r() * 500);
  const stopped = r() < 0.3;
  return {
    pieces,
    c: {
      id: `sim-${i}`,
      model: 'sim',
      created: 1765100000,
      text: pieces.join(''),
      finishReason: r() < 0.5 ? 'length' : 'stop',
      stopSequence: stopped ? 'END' : null,
      promptTokens: prompt,
      cachedTokens: Math.floor(r() * prompt),
      completionTokens: pieces.length,
    },
  };
}

/** Parses `wire` in random pieces, translates, and returns the client's wire text. */
function relay(
  wire: string,
  t: { push(e: SseEvent): SseEvent[]; end(): SseEvent[] },
  r: () => number,
): string {
  const bytes = Buffer.from(wire);
  const parser = new SseParser();
  const out: SseEvent[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(r() * 40);
    for (const e of parser.push(bytes.subarray(at, at + n))) out.push(...t.push(e));
    at += n;
  }
  out.push(...t.end());
  return formatSseAll(out);
}

function events(wire: string): Array<Record<string, any>> {
  return new SseParser()
    .push(wire)
    .filter((e) => e.data !== '[DONE]')
    .map((e) => JSON.parse(e.data));
}

test('llm-sim OpenAI streams → Anthropic clients: same text, same usage, well-formed end (200 completions)', () => {
  const r = rng(19);
  for (let i = 0; i < 200; i++) {
    const { c, pieces } = completion(r, i);
    const sim = new OpenAiStream('chat', c, true);
    const wire = sim.start() + pieces.map((p) => sim.content(p)).join('') + sim.end(c);
    const out = relay(wire, new OpenaiToAnthropicStream({ inputTokens: c.promptTokens }), r);
    const evs = events(out);
    const text = evs
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => e.delta.text)
      .join('');
    assert.equal(text, c.text);
    assert.equal(evs.at(-1)!.type, 'message_stop');
    const reader = new AnthropicStreamUsage();
    for (const e of new SseParser().push(out)) reader.push(e);
    assert.deepEqual(reader.usage, {
      input: c.promptTokens,
      cachedInput: c.cachedTokens,
      cacheWrite: 0,
      output: c.completionTokens,
      reasoning: 0,
    });
  }
});

test('llm-sim Anthropic streams → OpenAI clients: same text, same usage, [DONE] last (200 completions)', () => {
  const r = rng(20);
  for (let i = 0; i < 200; i++) {
    const { c, pieces } = completion(r, i);
    const sim = new AnthropicStream({ id: c.id, model: c.model });
    const wire = sim.start(c) + pieces.map((p) => sim.content(p)).join('') + sim.end(c);
    const out = relay(wire, new AnthropicToOpenaiStream({ includeUsage: true, created: c.created }), r);
    assert.ok(out.endsWith('data: [DONE]\n\n'));
    const chunks = events(out);
    const text = chunks.flatMap((ch) => ch.choices.map((x: any) => x.delta.content ?? '')).join('');
    assert.equal(text, c.text);
    const reader = new OpenaiStreamUsage();
    for (const e of new SseParser().push(out)) reader.push(e);
    assert.deepEqual(reader.usage, {
      input: c.promptTokens,
      cachedInput: c.cachedTokens,
      cacheWrite: 0,
      output: c.completionTokens,
      reasoning: 0,
    });
    assert.equal(reader.complete, true);
  }
});

test('llm-sim non-streaming responses translate with the usage llm-sim counted, both ways', () => {
  const r = rng(21);
  for (let i = 0; i < 50; i++) {
    const { c } = completion(r, i);
    const fromOpenai = openaiChatResponseToAnthropic(openAiResponse('chat', c));
    assert.deepEqual(fromOpenai.content, c.text === '' ? [] : [{ type: 'text', text: c.text }]);
    assert.deepEqual(usageFromAnthropic(fromOpenai.usage), usageFromOpenai(openAiResponse('chat', c).usage));
    const fromAnthropic = anthropicResponseToOpenaiChat(anthropicResponse(c), { created: c.created });
    assert.equal((fromAnthropic.choices as any)[0].message.content, c.text);
    assert.equal(
      (fromAnthropic.choices as any)[0].finish_reason,
      c.finishReason === 'length' && c.stopSequence === null ? 'length' : 'stop',
    );
    assert.deepEqual(usageFromOpenai(fromAnthropic.usage), usageFromAnthropic(anthropicResponse(c).usage));
  }
});
