import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, type GenerationRequest } from '../../src/llm-sim/text-generator.js';
import { countTokens } from '../../src/llm-sim/tokenizer.js';

const base: GenerationRequest = {
  seed: 7,
  prompt: 'user: tell me a story\nassistant:',
  echoText: 'tell me a story',
  mode: 'random',
  outputTokens: { min: 16, max: 128 },
  maxTokens: 1000,
  stop: [],
};

test('the same seed and prompt give the same text; another seed or prompt another one', () => {
  const a = generate(base);
  assert.deepEqual(generate(base), a);
  assert.notEqual(generate({ ...base, seed: 8 }).text, a.text);
  assert.notEqual(generate({ ...base, prompt: `${base.prompt} ` }).text, a.text);
});

test('every prefix of a random completion counts to as many tokens as pieces were sent', () => {
  for (let seed = 0; seed < 60; seed++) {
    const g = generate({ ...base, seed, outputTokens: { min: 1, max: 300 } });
    for (const k of [1, Math.ceil(g.pieces.length / 2), g.pieces.length])
      assert.equal(countTokens(g.pieces.slice(0, k).join('')), k, `seed ${seed}, first ${k} pieces`);
  }
});

test('the natural length falls in --output-tokens; max_tokens below it ends with length', () => {
  const natural = generate({ ...base, outputTokens: { min: 20, max: 30 } });
  assert.ok(natural.pieces.length >= 20 && natural.pieces.length <= 30);
  assert.equal(natural.finishReason, 'stop');
  const limited = generate({ ...base, outputTokens: { min: 20, max: 30 }, maxTokens: 5 });
  assert.equal(limited.pieces.length, 5);
  assert.equal(limited.finishReason, 'length');
  assert.deepEqual(limited.pieces, natural.pieces.slice(0, 5));
});

test('a stop sequence ends the text before it, counts the token that completed it, names it', () => {
  const full = generate({ ...base, outputTokens: { min: 40, max: 40 } });
  const word = full.pieces[10]!; // " word" with its space
  const stopped = generate({ ...base, outputTokens: { min: 40, max: 40 }, stop: [word] });
  const at = full.text.indexOf(word);
  assert.equal(stopped.text, full.text.slice(0, at));
  assert.equal(stopped.stopSequence, word);
  assert.equal(stopped.finishReason, 'stop');
  assert.equal(
    stopped.pieces.length,
    full.pieces.findIndex((_, i) =>
      full.pieces
        .slice(0, i + 1)
        .join('')
        .includes(word),
    ) + 1,
  );
});

test('a stop sequence spanning two pieces trims the earlier piece too', () => {
  const full = generate({ ...base, outputTokens: { min: 40, max: 40 } });
  const span = full.pieces[5]!.slice(-2) + full.pieces[6]!.slice(0, 2);
  const stopped = generate({ ...base, outputTokens: { min: 40, max: 40 }, stop: [span] });
  assert.equal(stopped.text, full.text.slice(0, full.text.indexOf(span)));
});

test('echo mode repeats the last message, cut by max_tokens', () => {
  const g = generate({ ...base, mode: 'echo', echoText: 'one two three four five', maxTokens: 3 });
  assert.equal(g.text, 'one two three');
  assert.equal(g.finishReason, 'length');
  assert.equal(generate({ ...base, mode: 'echo', echoText: 'one two' }).text, 'one two');
});
