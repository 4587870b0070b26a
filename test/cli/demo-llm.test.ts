/**
 * `luascale demo --llm` (issue 20 must-show), shortened: llm-sim processes (time scale 0.5) behind
 * the front door, a step of streaming chats, scaling on the queues. The summary JSON has every
 * field the issue names, 0 errors, tokens counted from the streams' usage, and the step made the
 * service scale out (more than one replica at the peak) and in again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLlmDemo } from '../../src/cli/commands/demo-llm.js';

test('demo --llm: 0 errors, TTFT, tokens and a scale-out on the load step', async () => {
  const lines: string[] = [];
  const s = await runLlmDemo({ durationS: 20, baseRps: 4, timeScale: 0.5, log: (l) => lines.push(l) });
  const json = JSON.parse(JSON.stringify(s)) as typeof s;
  assert.deepEqual(Object.keys(json).sort(), [
    'errors',
    'events',
    'ok',
    'replicas',
    'requests',
    'tokens',
    'ttft_ms',
  ]);
  console.log(`# ${JSON.stringify({ ...json, events: json.events.length })}`);
  assert.equal(json.errors, 0);
  assert.ok(json.requests >= 100, `a 20 s step at 4 → 16 chats/s sends >= 100 (got ${json.requests})`);
  assert.equal(json.ok, json.requests);
  assert.ok(json.ttft_ms.p50 > 0 && json.ttft_ms.p95 >= json.ttft_ms.p50);
  // llm-sim's usage: every chat has a prompt and 32-96 output tokens (or fewer, at a natural stop)
  assert.ok(json.tokens.in > 20 * json.requests, `tokens in ${json.tokens.in}`);
  assert.ok(json.tokens.out >= json.requests && json.tokens.out <= 96 * json.requests);
  assert.ok(json.replicas.max >= 2, `the step scales out (max ${json.replicas.max})`);
  assert.ok(json.replicas.min >= 1 && json.replicas.final <= json.replicas.max);
  assert.ok(lines.some((l) => l.includes('decision 1 → 2') || /decision 1 → [2-4]/.test(l)));
});
