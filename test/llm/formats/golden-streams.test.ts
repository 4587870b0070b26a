// Golden transcripts (test/fixtures/llm/): recorded SSE of each format (llm-sim's own output and
// the providers' documented shapes) translated chunk by chunk into the other format and compared
// byte for byte with the reviewed translation beside it. The input bytes are split at awkward
// places (every byte, inside CRLF and UTF-8 sequences, in the middle of JSON) and must give the
// same output. LUASCALE_UPDATE_GOLDEN=1 rewrites the expected files (review the diff).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnthropicToOpenaiStream } from '../../../src/llm/formats/anthropic-to-openai-stream.js';
import { OpenaiToAnthropicStream } from '../../../src/llm/formats/openai-to-anthropic-stream.js';
import { formatSseAll, SseParser, type SseEvent } from '../../../src/llm/formats/sse.js';
import { AnthropicStreamUsage, OpenaiStreamUsage } from '../../../src/llm/formats/usage.js';

const DIR = 'test/fixtures/llm';
const UPDATE = process.env.LUASCALE_UPDATE_GOLDEN === '1';

interface Translator {
  push(event: SseEvent): SseEvent[];
  end(): SseEvent[];
}

function translatorFor(name: string): { to: string; make: () => Translator } {
  if (name.startsWith('openai-'))
    return { to: 'anthropic', make: () => new OpenaiToAnthropicStream({ inputTokens: 40 }) };
  return {
    to: 'openai',
    make: () => new AnthropicToOpenaiStream({ includeUsage: true, created: 1765100000 }),
  };
}

/** Translates `bytes` fed in pieces cut at `cuts`; the backend's bytes end after the last piece. */
function translate(make: () => Translator, bytes: Buffer, cuts: number[]): string {
  const parser = new SseParser();
  const translator = make();
  const out: SseEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const event of parser.push(bytes.subarray(from, cut))) out.push(...translator.push(event));
    from = cut;
  }
  out.push(...translator.end());
  return formatSseAll(out);
}

/** Split patterns: whole, every byte, every 7 bytes, and around each CR, LF and non-ASCII byte. */
function splits(bytes: Buffer): Array<{ name: string; cuts: number[] }> {
  const all = (step: number) =>
    Array.from({ length: Math.floor((bytes.length - 1) / step) }, (_, i) => (i + 1) * step);
  const awkward: number[] = [];
  for (let i = 1; i < bytes.length; i++)
    if (bytes[i] === 0x0a || bytes[i]! >= 0x80 || bytes[i] === 0x7b) awkward.push(i);
  return [
    { name: 'whole', cuts: [] },
    { name: 'every byte', cuts: all(1) },
    { name: 'every 7 bytes', cuts: all(7) },
    { name: 'at LF, UTF-8 and { bytes', cuts: awkward },
  ];
}

/** The offset halfway through the k-th event (0-based): a cut stream. */
function cutInside(wire: string, k: number): number {
  let at = 0;
  for (let i = 0; i < k; i++) at = wire.indexOf('\n\n', at) + 2;
  const next = wire.indexOf('\n\n', at);
  return Buffer.byteLength(wire.slice(0, at + Math.floor((next - at) / 2)));
}

const INPUTS = [
  'openai-chat-text',
  'openai-chat-tools',
  'openai-chat-error',
  'anthropic-messages-text',
  'anthropic-tool-use',
  'anthropic-error',
  'openai-chat-reasoning',
  'anthropic-thinking',
];
/** Inputs also replayed cut in the middle of an event (event index). */
const CUTS: Record<string, number> = { 'openai-chat-tools': 5, 'anthropic-tool-use': 9 };

function golden(file: string, actual: string): void {
  const path = join(DIR, file);
  if (UPDATE || !existsSync(path)) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `${file} differs (LUASCALE_UPDATE_GOLDEN=1 to rewrite)`);
}

for (const name of INPUTS) {
  const wire = readFileSync(join(DIR, `${name}.sse`), 'utf8');
  const { to, make } = translatorFor(name);
  test(`golden: ${name}.sse translates to ${name}.to-${to}.sse however its bytes are split`, () => {
    const bytes = Buffer.from(wire, 'utf8');
    const expected = translate(make, bytes, []);
    golden(`${name}.to-${to}.sse`, expected);
    for (const s of splits(bytes)) assert.equal(translate(make, bytes, s.cuts), expected, s.name);
    const crlf = Buffer.from(wire.replace(/\n/g, '\r\n'), 'utf8');
    for (const s of splits(crlf)) assert.equal(translate(make, crlf, s.cuts), expected, `CRLF, ${s.name}`);
  });
  const k = CUTS[name];
  if (k === undefined) continue;
  test(`golden: ${name}.sse cut inside event ${k} ends in an error event (${name}.cut.to-${to}.sse)`, () => {
    const bytes = Buffer.from(wire, 'utf8').subarray(0, cutInside(wire, k));
    const out = translate(make, bytes, []);
    golden(`${name}.cut.to-${to}.sse`, out);
    for (const s of splits(bytes)) assert.equal(translate(make, bytes, s.cuts), out, s.name);
  });
}

/** The usage a reader of `format` takes from `wire`. */
function usageOf(format: 'openai' | 'anthropic', wire: string) {
  const reader = format === 'openai' ? new OpenaiStreamUsage() : new AnthropicStreamUsage();
  for (const event of new SseParser().push(wire)) reader.push(event);
  return { usage: reader.usage, complete: reader.complete };
}

for (const name of [
  'openai-chat-text',
  'openai-chat-tools',
  'anthropic-messages-text',
  'anthropic-tool-use',
]) {
  test(`golden: ${name}: the translated stream reports the same usage as the backend's`, () => {
    const wire = readFileSync(join(DIR, `${name}.sse`), 'utf8');
    const { to, make } = translatorFor(name);
    const from = name.startsWith('openai-') ? 'openai' : 'anthropic';
    const translated = translate(make, Buffer.from(wire), []);
    const original = usageOf(from, wire);
    assert.ok(original.usage && original.usage.input > 0 && original.usage.output > 0);
    assert.deepEqual(usageOf(to as 'openai' | 'anthropic', translated), {
      // Anthropic has no reasoning split, OpenAI no cache-write count: those two do not cross.
      usage: {
        ...original.usage,
        reasoning: to === 'anthropic' ? 0 : original.usage.reasoning,
        cacheWrite: to === 'openai' ? 0 : original.usage.cacheWrite,
      },
      complete: true,
    });
  });
}
