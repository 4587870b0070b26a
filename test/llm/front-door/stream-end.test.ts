/**
 * A stream ends for the client with the stream's own end (`data: [DONE]`): the front door ends the
 * client's response with that chunk, in one write, without waiting for the backend's end of body.
 * The backend is still read to its end over the same connection (not aborted by the client's
 * close that follows), and the ledger row is the completed call's, with the reported usage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../../src/gateway/gateway.js';
import { createLlmModels, createLlmStage, llmErrorBody } from '../../../src/llm/front-door/index.js';
import { stagesWithLlm } from '../../../src/app/llm-wiring.js';
import type { UsageRow } from '../../../src/store/usage-ledger.js';

const event = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const chunk = (delta: object, finish: string | null) =>
  event({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
    usage: null,
  });
const USAGE = event({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});
const EVENTS = [
  chunk({ role: 'assistant', content: '' }, null),
  chunk({ content: 'Hello' }, null),
  chunk({ content: ' sea' }, null),
  chunk({}, 'stop'),
];
const WIRE = EVENTS.join('') + USAGE + 'data: [DONE]\n\n';
/** What the client must get: the events without the usage chunk and the `"usage":null` it did not ask for. */
const EXPECTED = EVENTS.map((e) => e.replace(',"usage":null', '')).join('') + 'data: [DONE]\n\n';

test(
  'the client’s stream ends at [DONE] while the backend has not ended its body; the backend is read to its end on the same connection',
  {
    timeout: 20_000,
  },
  async () => {
    // A backend that sends the whole stream, [DONE] included, and ends its body only when told.
    const open: http.ServerResponse[] = [];
    let connections = 0;
    const backend = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(WIRE);
      open.push(res);
    });
    backend.on('connection', () => connections++);
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const rows: UsageRow[] = [];
    const waiters: (() => void)[] = [];
    const built = createLlmModels({
      m: {
        backends: [{ instances: { format: 'openai' } }],
        ttftMs: 5000,
        interTokenMs: 5000,
        maxTokensDefault: 64,
      },
    });
    const stage = createLlmStage({
      services: new Map([['ai', { models: built.models }]]),
      ledger: {
        append(row) {
          rows.push(row);
          waiters.shift()?.();
        },
      },
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
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    try {
      for (let i = 0; i < 2; i++) {
        // Ends only if the front door ends it at [DONE]: the backend's body is still open.
        const res = await fetch(`http://127.0.0.1:${addr.port}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        assert.equal(await res.text(), EXPECTED);
        assert.equal(open.length, i + 1);
        assert.equal(open[i]!.writableEnded, false);
        assert.equal(rows.length, i, 'the row is written when the backend ends');
        const row = new Promise<void>((resolve) => waiters.push(resolve));
        open[i]!.end();
        await row;
        assert.deepEqual(
          { status: rows[i]!.status, outcome: rows[i]!.outcome, source: rows[i]!.usageSource },
          { status: 200, outcome: 'completed', source: 'reported' },
        );
        assert.deepEqual([rows[i]!.input, rows[i]!.output], [5, 2]);
      }
      // The client's close after the first stream did not abort the backend's request.
      assert.equal(connections, 1);
    } finally {
      await gw.close({ graceMs: 0 });
      await built.close();
      backend.closeAllConnections();
      backend.close();
    }
  },
);
