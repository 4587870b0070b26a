/**
 * Issue 20's must-show, shortened: `luascale demo --llm --json` (llm-sim processes at time scale
 * 0.5 behind the front door, a step of streaming chats, scaling on the queues). The JSON on stdout
 * has every field the issue names, 0 errors, tokens counted from the streams' usage, and the step
 * made the service scale out (more than one replica at the peak); the live lines go to stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/run-cli.js';

test(
  'luascale demo --llm --json: 0 errors, TTFT, tokens and a scale-out on the load step',
  { timeout: 150_000 },
  async () => {
    const r = await runCli(
      'demo',
      '--llm',
      '--duration',
      '20',
      '--rps',
      '4',
      '--time-scale',
      '0.5',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(Object.keys(s).sort(), [
      'errors',
      'events',
      'ok',
      'replicas',
      'requests',
      'tokens',
      'ttft_ms',
    ]);
    process.stdout.write(`# demo --llm: ${JSON.stringify({ ...s, events: s.events.length })}\n`);
    assert.equal(s.errors, 0);
    assert.ok(s.requests >= 100, `a 20 s step at 4 → 16 chats/s sends >= 100 (got ${s.requests})`);
    assert.equal(s.ok, s.requests);
    assert.ok(s.ttft_ms.p50 > 0 && s.ttft_ms.p95 >= s.ttft_ms.p50);
    // llm-sim's usage: every chat has a prompt and 32-96 output tokens (or fewer, at a natural stop)
    assert.ok(s.tokens.in > 20 * s.requests, `tokens in ${s.tokens.in}`);
    assert.ok(s.tokens.out >= s.requests && s.tokens.out <= 96 * s.requests);
    assert.ok(s.replicas.max >= 2, `the step scales out (max ${s.replicas.max})`);
    assert.ok(s.replicas.min >= 1 && s.replicas.final <= s.replicas.max);
    assert.match(r.stderr, /decision 1 → [2-4]/, 'the live log shows the scale-out as it happens');
  },
);
