/** The passthrough relay works on bytes: what it writes, cut anywhere, is what the client must get. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassthroughRelay } from '../../../src/llm/front-door/relay.js';

const chunk = (content: string, extra = ',"usage":null') =>
  `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${extra}}\n\n`;
const usage =
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n';
const done = 'data: [DONE]\n\n';

/** Runs `wire` through a relay in pieces of `size` bytes (until it fails, as the front door does); the bytes out. */
function relayIn(relay: PassthroughRelay, wire: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length && relay.failure === undefined; i += size) {
    const o = relay.push(wire.subarray(i, i + size));
    out.push(Buffer.isBuffer(o) ? o : Buffer.from(o));
  }
  return Buffer.concat(out);
}

test('the usage the front door asked for is stripped byte-exactly, whatever the chunking (multi-byte text split too)', () => {
  const texts = ['Ünïcode ', '海の物語 ', '🌊 waves'];
  const wire = Buffer.from(texts.map((t) => chunk(t)).join('') + usage + done);
  const expected = Buffer.from(texts.map((t) => chunk(t, '')).join('') + done);
  for (const size of [1, 2, 3, 7, 64, wire.length]) {
    const relay = new PassthroughRelay('openai', true);
    assert.deepEqual(relayIn(relay, wire, size).toString('utf8'), expected.toString('utf8'), `size ${size}`);
    assert.ok(relay.done);
    assert.deepEqual(relay.usage, { input: 7, cachedInput: 0, cacheWrite: 0, output: 3, reasoning: 0 });
  }
});

test('a chunk that passes whole is written as the same buffer (no copy); usage is still read', () => {
  const relay = new PassthroughRelay('openai', false);
  for (const ev of [chunk('a', ''), chunk('b', ''), usage, done]) {
    const b = Buffer.from(ev);
    assert.equal(relay.push(b), b);
  }
  assert.equal(relay.usage?.output, 3);
});

test("what is stripped is closed up in the chunk itself: the bytes out are the chunk's own memory, no new buffer", () => {
  const relay = new PassthroughRelay('openai', true);
  const b = Buffer.from(chunk('a') + chunk('b') + usage + chunk('c') + done);
  const out = relay.push(b);
  assert.equal(out.toString(), chunk('a', '') + chunk('b', '') + chunk('c', '') + done);
  assert.equal(out.buffer, b.buffer);
  assert.equal(out.byteOffset, b.byteOffset);
  assert.equal(relay.usage?.output, 3);
});

test('a cut stream counts the output tokens it delivered, not the usage chunk it dropped', () => {
  const relay = new PassthroughRelay('openai', true);
  relayIn(relay, Buffer.from(chunk('hello') + chunk(' world') + chunk(' again')), 5);
  assert.equal(relay.outputTokens(), 3); // "hello", " world", " again" (o200k_base)
  assert.equal(new PassthroughRelay('openai', true).outputTokens(), 0);
});

test('a malformed event after good ones: the good ones out, nothing after it', () => {
  const relay = new PassthroughRelay('openai', false);
  const out = relay.push(Buffer.from(chunk('a', '') + 'data: {oops\n\n' + chunk('b', '')));
  assert.equal(out.toString(), chunk('a', ''));
  assert.equal(relay.failure, 'malformed chunk from the backend');
});

test('anthropic: an error event is passed on and ends the stream; usage is read from message_* events', () => {
  const relay = new PassthroughRelay('anthropic', false);
  const start =
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}\n\n';
  const delta = 'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n';
  const err = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\n\n';
  const out = relayIn(relay, Buffer.from(start + delta + err + delta), 9);
  assert.equal(out.toString(), start + delta + err);
  assert.equal(relay.failure, 'backend sent an error event');
  assert.equal(relay.usage?.input, 5);
  assert.equal(relay.outputTokens(), 1);
});
