/**
 * `luascale load --llm-trace`: a token trace replayed as streaming chats against llm-sim (OpenAI
 * and Anthropic formats) and through the AI front door; the tokens it reports are llm-sim's own
 * counts; cut streams and refusals are errors; arrivals over --max-in-flight are dropped; bad
 * arguments and a bad trace file are one line each, with the exit codes of `load`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLlmSim, type LlmSim } from '../../src/llm-sim/index.js';
import { countTokens } from '../../src/llm-sim/tokenizer.js';
import { promptText, runLlmLoad, type TokenRequests } from '../../src/loadgen/index.js';
import { llmLoadOptionsFromArgs, loadCommand, type LoadArgs } from '../../src/cli/commands/load.js';
import { main } from '../../src/cli/main.js';
import { startDoor } from '../llm/front-door/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'luascale-llm-load-'));
let sim: LlmSim;

before(async () => {
  sim = await startLlmSim({
    port: 0,
    api: 'both',
    models: ['m'],
    timeScale: 0.001,
    outputTokens: { min: 40, max: 40 },
    maxModelLen: 4096,
  });
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await sim.close();
});

/** n requests `gapMs` apart, prompts of 10, 20, … tokens, max_tokens 3, 6, 9, … */
function requests(n: number, gapMs: number): TokenRequests {
  return {
    atMs: Array.from({ length: n }, (_, i) => i * gapMs),
    context: Array.from({ length: n }, (_, i) => 10 * (i + 1)),
    generated: Array.from({ length: n }, (_, i) => 3 * (i + 1)),
  };
}

/** llm-sim's totals over its records since `from`. */
function simTotals(from: number) {
  const recs = sim.stats().requests.slice(from);
  return {
    n: recs.length,
    prompt: recs.reduce((a, r) => a + r.promptTokens, 0),
    output: recs.reduce((a, r) => a + r.completionTokens, 0),
  };
}

async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'luascale', ...args]), err };
  } finally {
    process.stderr.write = write;
  }
}

describe('load --llm-trace', () => {
  it('prompts have exactly the trace’s token count (o200k_base), and differ per request', () => {
    for (const n of [1, 2, 7, 100, 1000]) {
      for (const i of [0, 1, 99]) assert.equal(countTokens(promptText(i, n)), n, `i=${i} n=${n}`);
    }
    assert.notEqual(promptText(0, 20), promptText(1, 20));
    assert.equal(promptText(5, 0), '');
  });

  for (const api of ['openai', 'anthropic'] as const) {
    it(`replays a trace as ${api} streams: the reported tokens are llm-sim’s counts`, async () => {
      const from = sim.stats().requests.length;
      const path = api === 'openai' ? '/v1/chat/completions' : '/v1/messages';
      const s = await runLlmLoad({
        url: `${sim.url}${path}`,
        api,
        model: 'm',
        requests: requests(12, 5),
        durationMs: 60_000,
      });
      const t = simTotals(from);
      assert.equal(s.sent, 12);
      assert.equal(s.ok, 12, JSON.stringify(s.errorKinds));
      assert.equal(t.n, 12);
      assert.equal(s.tokens.prompt, t.prompt);
      assert.equal(s.tokens.output, t.output);
      assert.equal(s.tokens.output, (3 * (12 * 13)) / 2, 'max_tokens cut each answer (40 natural tokens)');
      assert.equal(s.tokens.promptSent, (10 * (12 * 13)) / 2);
      assert.ok(t.prompt > s.tokens.promptSent, 'the chat rendering adds its tokens on top');
      assert.equal(s.tokens.withoutUsage, 0);
      assert.ok(s.ttftMs.p50 > 0 && s.ttftMs.max >= s.ttftMs.p50);
      assert.ok(s.e2eMs.p50 >= s.ttftMs.p50);
      assert.ok(s.itlMs.max > 0, 'later tokens were timed');
      assert.equal(s.stoppedBy, 'end-of-trace');
    });
  }

  it('counts a cut stream and a refusal as errors, by kind', async () => {
    const cut = await startLlmSim({
      port: 0,
      models: ['m'],
      timeScale: 0.001,
      fault: { kind: 'cut', after: 2 },
    });
    const busy = await startLlmSim({ port: 0, models: ['m'], fault: { kind: 'status', status: 429 } });
    try {
      const a = await runLlmLoad({
        url: `${cut.url}/v1/chat/completions`,
        api: 'openai',
        model: 'm',
        requests: requests(3, 0),
        durationMs: 60_000,
      });
      assert.deepEqual([a.ok, a.errors, a.errorKinds], [0, 3, { 'stream cut': 3 }]);
      const b = await runLlmLoad({
        url: `${busy.url}/v1/chat/completions`,
        api: 'openai',
        model: 'm',
        requests: requests(2, 0),
        durationMs: 60_000,
      });
      assert.deepEqual([b.ok, b.errors, b.errorKinds, b.statuses], [0, 2, { 'HTTP 429': 2 }, { 429: 2 }]);
    } finally {
      await Promise.all([cut.close(), busy.close()]);
    }
  });

  it('drops arrivals over --max-in-flight instead of queueing them (open loop)', async () => {
    const s = await runLlmLoad({
      url: `${sim.url}/v1/chat/completions`,
      api: 'openai',
      model: 'm',
      requests: requests(5, 0),
      durationMs: 60_000,
      maxInFlight: 1,
    });
    assert.deepEqual([s.sent, s.dropped, s.ok], [1, 4, 1]);
  });

  it('through the AI front door with a key header, from a trace file on the command line', async () => {
    const door = await startDoor({ instances: [{ models: ['m'], outputTokens: { min: 30, max: 30 } }] });
    const file = join(dir, 'tokens.csv');
    writeFileSync(file, 't,context_tokens,generated_tokens\n0,50,5\n0.01,80,0\n0.02,20,12\n');
    try {
      let out = '';
      await loadCommand({ url: door.base, llmTrace: file, model: 'm', json: true } as LoadArgs, {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: () => true },
      });
      const s = JSON.parse(out);
      assert.equal(s.url, `${door.base}/v1/chat/completions`);
      assert.deepEqual([s.sent, s.ok], [3, 3]);
      assert.equal(s.tokens.output, 5 + 1 + 12, 'a row with 0 generated tokens asks for one');
      assert.equal(
        s.tokens.output,
        door.rows.reduce((a, r) => a + r.output, 0),
        'the ledger agrees',
      );
      assert.equal(
        s.tokens.prompt,
        door.rows.reduce((a, r) => a + r.input, 0),
      );
      let table = '';
      await loadCommand({ url: `${door.base}/v1/messages`, llmTrace: file, model: 'm' } as LoadArgs, {
        stdout: { write: (t: string) => (table += t) },
        stderr: { write: () => true },
      });
      assert.match(table, /^target\s+http:\/\/127\.0\.0\.1:\d+\/v1\/messages \(anthropic, model m\)$/m);
      assert.match(table, /^ok\s+3 {2}100\.0%$/m);
      assert.match(table, /^TTFT p50\/p90\/p99\/max\s+[\d.]+ \/ [\d.]+ \/ [\d.]+ \/ [\d.]+ ms$/m);
    } finally {
      await door.close();
    }
  });

  it('bad arguments exit 2 with one line; a bad trace file exits 1 naming the file and line', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 't,context_tokens,generated_tokens\n0,10,5\n1,ten,5\n');
    const good = join(dir, 'good.csv');
    writeFileSync(good, 't,context_tokens,generated_tokens\n0,10,5\n');
    const cases: Array<[string[], number, RegExp]> = [
      [['--llm-trace', good], 2, /--model: required with --llm-trace/],
      [
        ['--llm-trace', good, '--model', 'm', '--rps', '3'],
        2,
        /give exactly one of .*\(got --rps and --llm-trace\)/,
      ],
      [['--llm-trace', good, '--model', 'm', '--api', 'grpc'], 2, /--api: expected openai or anthropic/],
      [['--llm-trace', good, '--model', 'm', '--timeline'], 2, /--timeline: applies to --rps/],
      [['--rps', '3', '--model', 'm'], 2, /--model: applies to --llm-trace only/],
      [
        ['--llm-trace', file, '--model', 'm'],
        1,
        new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: context_tokens`),
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli('load', '--url', 'http://127.0.0.1:9/v1/messages', ...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
    const urls: Array<[string, string | undefined, string]> = [
      ['http://h:1/v1/', undefined, 'http://h:1/v1/chat/completions'],
      ['http://h:1/ai/v1', 'anthropic', 'http://h:1/ai/v1/messages'],
      ['http://h:1', undefined, 'http://h:1/v1/chat/completions'],
      ['http://h:1/v1/messages', undefined, 'http://h:1/v1/messages'],
    ];
    for (const [url, api, want] of urls) {
      const o = llmLoadOptionsFromArgs({ url, api, llmTrace: good, model: 'm' });
      assert.equal(o.url, want, url);
    }
    const mismatch = await cli(
      'load',
      '--url',
      'http://127.0.0.1:9/v1/messages',
      '--llm-trace',
      good,
      '--model',
      'm',
      '--api',
      'openai',
    );
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.err, /--api: openai does not match the endpoint \/v1\/messages/);
  });
});
