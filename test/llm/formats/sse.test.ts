import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSse, formatSseAll, SseParser, type SseEvent } from '../../../src/llm/formats/sse.js';

/** Feeds `bytes` to a fresh parser in pieces cut at `cuts`, returns every event. */
function parseSplit(bytes: Buffer, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return events;
}

const cases: Array<{ name: string; wire: string; events: SseEvent[] }> = [
  { name: 'LF line endings', wire: 'data: a\n\ndata: b\n\n', events: [{ data: 'a' }, { data: 'b' }] },
  {
    name: 'CRLF line endings',
    wire: 'data: a\r\n\r\ndata: b\r\n\r\n',
    events: [{ data: 'a' }, { data: 'b' }],
  },
  { name: 'CR line endings', wire: 'data: a\r\rdata: b\r\r', events: [{ data: 'a' }, { data: 'b' }] },
  {
    name: 'named events',
    wire: 'event: ping\ndata: {"type":"ping"}\n\n',
    events: [{ event: 'ping', data: '{"type":"ping"}' }],
  },
  { name: 'multi-line data joined by LF', wire: 'data: one\ndata: two\n\n', events: [{ data: 'one\ntwo' }] },
  { name: 'comments ignored', wire: ': keep-alive\n\ndata: x\n\n', events: [{ data: 'x' }] },
  { name: 'no space after the colon', wire: 'data:x\n\n', events: [{ data: 'x' }] },
  { name: 'only one leading space dropped', wire: 'data:  x\n\n', events: [{ data: ' x' }] },
  {
    name: 'an event without data is not dispatched',
    wire: 'event: e\n\ndata: y\n\n',
    events: [{ data: 'y' }],
  },
  { name: 'id and retry ignored', wire: 'id: 7\nretry: 10\ndata: z\n\n', events: [{ data: 'z' }] },
  {
    name: 'a trailing event without its blank line is held',
    wire: 'data: a\n\ndata: b\n',
    events: [{ data: 'a' }],
  },
  { name: 'multi-byte UTF-8', wire: 'data: héllo ✓ 😀\n\n', events: [{ data: 'héllo ✓ 😀' }] },
];

for (const c of cases) {
  test(`SseParser: ${c.name}, whole and split at every byte`, () => {
    const bytes = Buffer.from(c.wire, 'utf8');
    assert.deepEqual(parseSplit(bytes, []), c.events);
    for (let cut = 1; cut < bytes.length; cut++)
      assert.deepEqual(parseSplit(bytes, [cut]), c.events, `cut at ${cut}`);
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(parseSplit(bytes, everyByte), c.events, 'one byte at a time');
  });
}

test('SseParser: a CR at the end of one push and the LF at the start of the next are one line ending', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('data: a\r'), []);
  assert.deepEqual(parser.push(''), []);
  assert.deepEqual(parser.push('\n\r'), [{ data: 'a' }]);
  assert.deepEqual(parser.push('\ndata: b\r\n\r\n'), [{ data: 'b' }]);
});

test('SseParser: a byte-order mark at the start of the stream is dropped, even split across pushes', () => {
  const bytes = Buffer.from('\ufeffdata: a\n\n', 'utf8');
  assert.deepEqual(parseSplit(bytes, [1, 2]), [{ data: 'a' }]);
  const parser = new SseParser();
  parser.push('data: a\n\n');
  // Later in the stream it is just a character: the field is then not "data" and is ignored.
  assert.deepEqual(parser.push('\ufeffdata: b\n\n'), []);
});

test('SseParser: pending says whether a cut stream left a partial event', () => {
  const parser = new SseParser();
  parser.push('data: a\n\n');
  assert.equal(parser.pending, false);
  parser.push('data: {"partial');
  assert.equal(parser.pending, true);
});

test('formatSse writes one data line per line and names the event', () => {
  assert.equal(formatSse({ data: '[DONE]' }), 'data: [DONE]\n\n');
  assert.equal(formatSse({ event: 'message_stop', data: '{}' }), 'event: message_stop\ndata: {}\n\n');
  assert.equal(formatSse({ data: 'a\nb' }), 'data: a\ndata: b\n\n');
  const events = [{ event: 'x', data: 'one\ntwo' }, { data: '3' }];
  assert.deepEqual(new SseParser().push(formatSseAll(events)), events);
});
