/**
 * OpenAI Completions (`/v1/completions`) reach an Anthropic-format backend: the prompt becomes one
 * user message (stop, max_tokens, temperature, stream carried over) and the answer comes back as
 * `text_completion` objects (text, finish_reason, usage), whole and streamed. Embeddings for a
 * model whose backends are all Anthropic-format get a 400 in OpenAI's format saying so (it was a
 * 502 after trying every backend). The real `openai` client; llm-sim `--api anthropic` behind the
 * front door.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { instancesModel, startDoor, type Door } from '../front-door/harness.js';
import { openaiCompletionToAnthropic } from '../../../src/llm/formats/completion-translation.js';

let door: Door;
let openai: OpenAI;
before(async () => {
  door = await startDoor({
    instances: [{ api: 'anthropic', outputTokens: { min: 10, max: 10 } }],
    models: () => ({ m: instancesModel('anthropic') }),
  });
  openai = new OpenAI({ apiKey: 'x', baseURL: `${door.base}/v1`, maxRetries: 0 });
});
after(() => door.close());

const last = () => door.sims[0]!.stats().requests.at(-1)!;

test('a completion is answered by the Anthropic backend as a text_completion, usage and ledger exact', async () => {
  const row = door.nextRow();
  const r = await openai.completions.create({ model: 'm', prompt: 'Once upon a time', max_tokens: 4 });
  const sim = last();
  assert.equal(sim.api, 'messages', 'the backend got a Messages request');
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0]!.text, sim.text);
  assert.equal(r.choices[0]!.finish_reason, 'length', 'max_tokens 4 < the 10 the sim would say');
  assert.equal(sim.completionTokens, 4);
  assert.deepEqual(
    [r.usage?.prompt_tokens, r.usage?.completion_tokens],
    [sim.promptTokens, sim.completionTokens],
  );
  const u = await row;
  assert.deepEqual([u.input, u.output, u.usageSource], [sim.promptTokens, 4, 'reported']);

  // a stop sequence from the text ends it early with finish_reason stop
  const full = await openai.completions.create({ model: 'm', prompt: 'Tell a story', max_tokens: 50 });
  assert.equal(full.choices[0]!.finish_reason, 'stop');
  const word = full.choices[0]!.text.trim().split(/\s+/)[2]!;
  const stopped = await openai.completions.create({
    model: 'm',
    prompt: 'Tell a story',
    max_tokens: 50,
    stop: [word],
  });
  assert.equal(stopped.choices[0]!.finish_reason, 'stop');
  assert.ok(!stopped.choices[0]!.text.includes(word));
  assert.ok(full.choices[0]!.text.startsWith(stopped.choices[0]!.text));
});

test('a streamed completion: text_completion chunks, the finish chunk, the usage chunk when asked, [DONE]', async () => {
  const stream = await openai.completions.create({
    model: 'm',
    prompt: 'Stream it',
    max_tokens: 50,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const c of stream) {
    assert.equal(c.object, 'text_completion');
    text += c.choices[0]?.text ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    usage = c.usage ?? usage;
  }
  const sim = last();
  assert.equal(text, sim.text);
  assert.equal(finish, 'stop');
  assert.deepEqual(
    [usage?.prompt_tokens, usage?.completion_tokens],
    [sim.promptTokens, sim.completionTokens],
  );

  const res = await fetch(`${door.base}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', prompt: 'Stream it', max_tokens: 50, stream: true }),
  });
  const events = (await res.text()).split('\n\n').filter((e) => e !== '');
  assert.equal(events.at(-1), 'data: [DONE]');
  for (const e of events.slice(0, -1)) {
    const chunk = JSON.parse(e.slice('data: '.length)) as Record<string, unknown>;
    assert.equal('usage' in chunk, false, 'no usage key without include_usage');
  }
});

test('what Anthropic cannot do is a 400 naming the field', async () => {
  for (const [body, param] of [
    [{ prompt: ['one', 'two'] }, 'prompt'],
    [{ prompt: [1, 2, 3] }, 'prompt'],
    [{ prompt: 'x', echo: true }, 'echo'],
    [{ prompt: 'x', suffix: 'end' }, 'suffix'],
    [{ prompt: 'x', best_of: 2 }, 'best_of'],
  ] as const) {
    const err = await openai.completions
      .create({ model: 'm', max_tokens: 5, ...(body as unknown as { prompt: string }) })
      .then(
        () => assert.fail(`admitted ${JSON.stringify(body)}`),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.param, param);
  }
  // the request the backend gets
  const t = openaiCompletionToAnthropic(
    { model: 'm', prompt: ['only'], temperature: 1.7, top_p: 0.5, stop: 'END', user: 'u1' },
    { maxTokensDefault: 99, model: 'claude' },
  );
  assert.deepEqual(t, {
    ok: true,
    value: {
      model: 'claude',
      max_tokens: 99,
      messages: [{ role: 'user', content: 'only' }],
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.5,
      metadata: { user_id: 'u1' },
    },
  });
});

test('embeddings for a model served only by Anthropic-format backends: 400 in OpenAI format, before any backend', async () => {
  const before = door.sims[0]!.stats().requests.length;
  const err = await openai.embeddings.create({ model: 'm', input: 'embed me' }).then(
    () => assert.fail('answered'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OpenAI.BadRequestError, String(err));
  assert.equal(err.param, 'model');
  assert.equal(err.code, 'LS_ERR_LLM_CANNOT_EMBED');
  assert.match(err.message, /backends of model m cannot embed \(instances, format anthropic\)/);
  assert.equal(door.sims[0]!.stats().requests.length, before);
});
