/**
 * OpenAI's legacy Completions API (`/v1/completions`) to an Anthropic Messages backend, and the
 * answer back. The body is expected to have passed `validateOpenaiCompletion`.
 *
 * Request: `prompt` (a string, or an array of one string) → one user message; `max_tokens`, else
 * the model's `maxTokensDefault` (what the front door reserved; OpenAI's own default is 16);
 * `stop` → `stop_sequences`; `temperature` clamped to Anthropic's 0..1; `top_p`; `stream`; `user`
 * → `metadata.user_id`. What Anthropic cannot do fails with the field: several prompts (one answer
 * per request), token-id prompts (Anthropic's tokenizer is not OpenAI's), an empty prompt, `n` or
 * `best_of` > 1, `echo: true`, `suffix` (insertion). `logprobs`, `seed`, the penalties and
 * `logit_bias` are dropped, as for chat.
 *
 * Response: a `text_completion` with one choice (`text`: the text blocks joined, thinking left
 * out: Completions has no field for it), `finish_reason` from the stop reason (`stop`, `length`,
 * `content_filter`), and OpenAI's usage. The stream is `AnthropicToOpenaiStream` with
 * `completions: true`.
 */
import { fail, isObject, type Checked, type JsonObject } from './checked.js';
import { stopReasonToFinish } from './stop-reasons.js';
import type { AnthropicMessagesRequest, OpenaiCompletionRequest } from './types.js';
import { emptyUsage, usageFromAnthropic, usageToOpenai } from './usage.js';
import type { ToAnthropicOptions } from './openai-to-anthropic-request.js';

/** The one prompt string of a completion request, or why Anthropic cannot take it. */
function promptOf(prompt: unknown): string | { ok: false; field: string; message: string } {
  const p =
    Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : prompt;
  if (typeof p === 'string')
    return p.trim() === '' ? fail('prompt', 'prompt: an Anthropic backend needs a non-empty prompt') : p;
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string'))
    return fail(
      'prompt',
      'prompt: an Anthropic backend answers one prompt per request; send them one by one',
    );
  return fail(
    'prompt',
    "prompt: token ids cannot be sent to an Anthropic backend (its tokenizer is not OpenAI's); send text",
  );
}

/** An OpenAI Completions body as an Anthropic Messages body. */
export function openaiCompletionToAnthropic(
  body: OpenaiCompletionRequest,
  options: ToAnthropicOptions = {},
): Checked<AnthropicMessagesRequest> {
  const prompt = promptOf(body.prompt);
  if (typeof prompt !== 'string') return prompt;
  if (typeof body.n === 'number' && body.n > 1)
    return fail('n', 'n: an Anthropic backend returns one choice; n must be 1');
  if (typeof body.best_of === 'number' && body.best_of > 1)
    return fail(
      'best_of',
      'best_of: an Anthropic backend cannot rank several completions; best_of must be 1',
    );
  if (body.echo === true)
    return fail('echo', 'echo: an Anthropic backend does not return the prompt; echo must be false');
  if (typeof body.suffix === 'string' && body.suffix !== '')
    return fail('suffix', 'suffix: an Anthropic backend cannot insert text; leave suffix out');
  const out: AnthropicMessagesRequest = {
    model: options.model ?? body.model,
    max_tokens: typeof body.max_tokens === 'number' ? body.max_tokens : (options.maxTokensDefault ?? 4096),
    messages: [{ role: 'user', content: prompt }],
  };
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop as string[];
  if (typeof body.temperature === 'number') out.temperature = Math.min(body.temperature, 1);
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (body.stream === true) out.stream = true;
  return { ok: true, value: out };
}

/** A Completions `finish_reason` (it has no `tool_calls`). */
export function completionFinish(stop: unknown): string {
  const f = stopReasonToFinish(stop);
  return f === 'tool_calls' ? 'stop' : f;
}

/** An Anthropic `message` as an OpenAI `text_completion`. */
export function anthropicResponseToOpenaiCompletion(
  resp: JsonObject,
  options: { created: number },
): JsonObject {
  let text = '';
  for (const block of Array.isArray(resp.content) ? resp.content : [])
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') text += block.text;
  return {
    id: resp.id,
    object: 'text_completion',
    created: options.created,
    model: resp.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: completionFinish(resp.stop_reason) }],
    usage: usageToOpenai(usageFromAnthropic(resp.usage) ?? emptyUsage()),
  };
}
