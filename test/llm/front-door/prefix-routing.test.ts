/**
 * The front door hands the llm balancer what it routes by: the request in the pick context and the
 * prompt's block chain registered for it (routePrompt), the same chain for the same conversation
 * prefix whichever client format it came in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDoor } from './harness.js';
import type { Balancer } from '../../../src/gateway/balancer.js';
import { promptPrefixOf } from '../../../src/llm/routing/prompt-prefixes.js';

test('an instance pick sees the request and its prompt prefix (llm balancer hand-off)', async () => {
  const seen: (Uint32Array | undefined)[] = [];
  const balancer: Balancer = {
    pick(endpoints, ctx) {
      seen.push(promptPrefixOf(ctx.request));
      return endpoints[0];
    },
    update() {},
  };
  const door = await startDoor({ balancer, prefixRouting: true });
  try {
    const long = 'a shared system prompt about rivers and seas '.repeat(8);
    const post = (path: string, body: unknown) =>
      fetch(`${door.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.arrayBuffer());
    await post('/v1/chat/completions', {
      model: 'm',
      max_tokens: 3,
      messages: [
        { role: 'system', content: long },
        { role: 'user', content: 'one' },
      ],
    });
    await post('/v1/messages', {
      model: 'm',
      max_tokens: 3,
      system: long,
      messages: [{ role: 'user', content: 'two' }],
    });
    assert.equal(seen.length, 2);
    assert.ok(seen[0] !== undefined && seen[0].length >= 2, 'a chain of blocks');
    assert.equal(seen[0]![0], seen[1]![0], 'the shared prefix gives the same first block');
  } finally {
    await door.close();
  }
});
