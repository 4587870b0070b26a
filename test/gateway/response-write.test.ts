/**
 * How the forward stage writes a response to the client: the chunk that completes a sized body is
 * handed to `res.end(chunk)` with the head (one call, no nextTick uncork), while bodies of unknown
 * length stream through `res.write` (undici: chunk by chunk; lean: the chunks of one read at once).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STAGES } from '../../src/gateway/gateway.js';
import type { Stage } from '../../src/gateway/pipeline/compose.js';
import type { Exchange } from '../../src/gateway/pipeline/exchange.js';
import { request, startGateway } from './helpers.js';
import { startRawUpstream } from './lean/upstream-corpus.js';

/** A stage before forward that records each write()/end() call on the response with its bytes. */
function spy(calls: string[]): Stage {
  return {
    name: 'spy',
    enter(ex: Exchange) {
      const res = ex.res;
      const write = res.write.bind(res) as (c: Buffer) => boolean;
      const end = res.end.bind(res) as (c?: Buffer) => void;
      res.write = ((c: Buffer) => {
        calls.push(`write:${String(c)}`);
        return write(c);
      }) as typeof res.write;
      res.end = ((c?: Buffer) => {
        calls.push(c === undefined ? 'end' : `end:${String(c)}`);
        end(c);
        return res;
      }) as typeof res.end;
      ex.next();
    },
  };
}

/** The default pipeline with the spy just before forward. */
function withSpy(calls: string[]): Stage[] {
  return [...DEFAULT_STAGES.slice(0, -1), spy(calls), DEFAULT_STAGES.at(-1)!];
}

for (const client of ['lean', 'undici'] as const) {
  test(`${client}: a sized body goes out with res.end(body), never through res.write; a chunked one streams through res.write, a read at a time on lean`, async () => {
    const up = await startRawUpstream((path) =>
      path === '/chunked'
        ? {
            name: 'chunked',
            parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'],
          }
        : { name: 'sized', parts: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'] },
    );
    const calls: string[] = [];
    const { gw, port } = await startGateway({
      stages: withSpy(calls),
      services: {
        api: {
          routes: [{ path_prefix: '/' }],
          upstream: { client },
          instances: [{ id: 'a', url: up.url }],
        },
      },
    });
    try {
      const sized = await request(port, { path: '/sized' });
      assert.equal(sized.status, 200);
      assert.equal(sized.body, 'hello');
      assert.equal(sized.headers['content-length'], '5');
      assert.deepEqual(calls, ['end:hello']);
      calls.length = 0;
      const chunked = await request(port, { path: '/chunked' });
      assert.equal(chunked.body, 'abcde');
      // Both chunks came in one read: the lean client hands a read's body over at once (one
      // write to the client), undici chunk by chunk.
      const writes = client === 'lean' ? ['write:abcde'] : ['write:abc', 'write:de'];
      assert.deepEqual(calls.slice(0, writes.length), writes);
      assert.equal(calls.at(-1), 'end');
    } finally {
      await gw.close({ graceMs: 0 });
      await up.close();
    }
  });
}
