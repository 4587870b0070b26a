/** An AI service's llm.* group: engine figures win, the stream's fill in, absent stays absent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LlmServiceSignals } from '../../../src/llm/routing/llm-service-signals.js';
import { LlmInstanceStates } from '../../../src/llm/routing/llm-instance-states.js';

test('a service nothing was measured for has no llm group', () => {
  const s = new LlmServiceSignals({ now: () => 0 });
  assert.equal(s.group('chat'), undefined);
});

test('stream measurements fill in what the engine lacks; engine figures win where both exist', () => {
  let now = 10_000;
  const states = new Map([['chat', new LlmInstanceStates()]]);
  const s = new LlmServiceSignals({ now: () => now, windowS: 10, states });
  for (const ms of [100, 200, 300]) s.recorder.firstToken('chat', ms);
  s.recorder.tokenGap('chat', 12);
  s.recorder.tokens('chat', { input: 500, output: 100 });
  s.recorder.inflight('chat', 'i1', 700);
  // llama.cpp: queue and token rates, no KV, no TTFT histogram
  now += 1000; // rates count whole seconds
  s.setEngine('chat', { waiting: 2, running: 3, tokensInRps: 40 }, now);
  const g = s.group('chat')!;
  assert.equal(g.waiting, 2);
  assert.equal(g.kv_util, undefined);
  assert.ok(!('kv_util' in g), 'absent, not 0');
  assert.equal(g.tokens_in_rps, 40); // the engine's
  assert.ok(g.tokens_out_rps! >= 9 && g.tokens_out_rps! <= 12, String(g.tokens_out_rps)); // the stream's: 100 tokens over the ~10 s window
  assert.ok(Math.abs(g.ttft!.p50! - 200) <= 2, String(g.ttft!.p50));
  assert.ok(Math.abs(g.itl!.p50! - 12) <= 1, String(g.itl!.p50));
  assert.equal(g.inflight_tokens, 700);
  assert.equal(states.get('chat')!.inflightTokens('i1'), 700);
  s.recorder.inflight('chat', 'i1', -700);
  assert.equal(s.group('chat')!.inflight_tokens, 0);
  // a stale engine scrape is not reported
  now += 5000;
  assert.equal(s.group('chat')!.waiting, undefined);
});
