/**
 * A client that stops reading: the front door's writes to it back up (write returns false), the
 * backend is paused until the client's socket drains, and the stream then arrives whole, the
 * bytes the client would have had from the backend (the usage the door asked for stripped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createGateway } from '../../../src/gateway/gateway.js';
import { createLlmModels, createLlmStage, llmErrorBody } from '../../../src/llm/front-door/index.js';
import { stagesWithLlm } from '../../../src/app/llm-wiring.js';
import type { UsageRow } from '../../../src/store/usage-ledger.js';

const TOKENS = 30_000; // ~7 MB of events: more than the loopback socket buffers hold
const event = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const chunk = (i: number) =>
  event({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content: ` w${i}` }, finish_reason: null }],
    usage: null,
  });
const USAGE = event({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: TOKENS, total_tokens: TOKENS + 5 },
});

/** The body of a whole HTTP/1.1 response with chunked framing (RFC 9112 §7.1), as text. */
function dechunk(raw: Buffer): string {
  const head = raw.indexOf('\r\n\r\n');
  assert.match(
    raw.subarray(0, head).toString('latin1'),
    /^HTTP\/1\.1 200 [^]*\r\ntransfer-encoding: chunked/i,
  );
  const out: Buffer[] = [];
  let at = head + 4;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) break;
    out.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out).toString('utf8');
}

test(
  'a client that stops reading pauses the stream; once it reads, every chunk arrives, in order, usage stripped',
  { timeout: 60_000 },
  async () => {
    // The backend writes one chunk per write, as engines do, minding its own backpressure.
    const backend = http.createServer(async (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < TOKENS; i++) if (!res.write(chunk(i))) await once(res, 'drain');
      res.end(USAGE + 'data: [DONE]\n\n');
    });
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const rows: UsageRow[] = [];
    let rowIn!: () => void;
    const row = new Promise<void>((resolve) => (rowIn = resolve));
    const built = createLlmModels({
      m: {
        backends: [{ instances: { format: 'openai' } }],
        ttftMs: 20_000,
        interTokenMs: 20_000,
        maxTokensDefault: 64,
      },
    });
    const stage = createLlmStage({
      services: new Map([['ai', { models: built.models }]]),
      ledger: { append: (r) => (rows.push(r), rowIn()) },
    });
    const gw = createGateway({
      services: {
        ai: {
          routes: [{ path_prefix: '/' }],
          traffic: { max_body: 1 << 20, request_buffer: 1 << 20 },
          instances: [{ id: 'b', url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` }],
          errorBody: llmErrorBody,
        },
      },
      stages: stagesWithLlm(stage),
    });
    const addr = await gw.listen(0, '127.0.0.1');
    // The gateway's side of the client's connection: a write it is told to hold back starts the reading.
    let backedUp!: () => void;
    const full = new Promise<void>((resolve) => (backedUp = resolve));
    gw.server.on('connection', (s: Socket) => {
      const write = s.write;
      s.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
        const ok = write.apply(this, args);
        if (!ok) backedUp();
        return ok;
      } as Socket['write'];
    });
    try {
      const body = JSON.stringify({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        max_tokens: TOKENS,
      });
      // A raw socket that reads nothing until the gateway's writes to it back up: TCP's own
      // backpressure (node's http client may buffer a whole response it has not been asked for).
      const client = connect(addr.port, '127.0.0.1');
      client.pause();
      client.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      await full;
      const parts: Buffer[] = [];
      client.resume();
      for await (const c of client) parts.push(c as Buffer);
      const text = dechunk(Buffer.concat(parts));
      let expected = '';
      for (let i = 0; i < TOKENS; i++) expected += chunk(i).replace(',"usage":null', '');
      assert.equal(text, expected + 'data: [DONE]\n\n');
      await row;
      assert.equal(rows.length, 1);
      assert.deepEqual(
        [rows[0]!.output, rows[0]!.usageSource, rows[0]!.outcome],
        [TOKENS, 'reported', 'completed'],
      );
    } finally {
      await gw.close({ graceMs: 0 });
      await built.close();
      backend.closeAllConnections();
      backend.close();
    }
  },
);
