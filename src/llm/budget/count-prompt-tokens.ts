/**
 * Prompt tokens of a request body, counted before it is forwarded (the reservation's estimate),
 * with the offline tokenizer llm-sim counts with (`gpt-tokenizer`, o200k_base) over the same
 * rendering (`chatPromptText`: `role: text` lines, tools first as JSON), so against llm-sim the count
 * equals the `prompt_tokens` it reports. For other models it is an estimate: their tokenizers and chat
 * templates differ by a few tokens per message, which settle corrects when the response reports its
 * usage (docs/llm.md, "Budgets and their accuracy").
 */
import { chatPromptText, countTokens, type PromptMessage } from '../../llm-sim/tokenizer.js';

/** The request formats the front door accepts. */
export type PromptFormat = 'openai-chat' | 'openai-completions' | 'openai-embeddings' | 'anthropic-messages';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of OpenAI content (a string or parts) or Anthropic content (a string or blocks). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    return content === null || content === undefined ? '' : JSON.stringify(content);
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    if (typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'tool_result') texts.push(contentText(part.content));
    else if (part.type === 'tool_use') texts.push(JSON.stringify({ name: part.name, input: part.input }));
  }
  return texts.join('\n');
}

function chatMessages(body: Record<string, unknown>, format: PromptFormat): PromptMessage[] {
  const out: PromptMessage[] = [];
  if (format === 'anthropic-messages' && body.system !== undefined)
    out.push({ role: 'system', text: contentText(body.system) });
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    if (!isObject(m)) continue;
    let text = contentText(m.content);
    if (Array.isArray(m.tool_calls)) text += JSON.stringify(m.tool_calls);
    out.push({ role: typeof m.role === 'string' ? m.role : '', text });
  }
  return out;
}

/** Tokens of every string in `input` (a string, strings, or token arrays for embeddings). */
function inputTokens(input: unknown): number {
  if (typeof input === 'string') return countTokens(input);
  if (!Array.isArray(input)) return 0;
  // an array of token ids is one input already tokenized
  if (input.every((x) => typeof x === 'number')) return input.length;
  return input.reduce<number>((n, x) => n + inputTokens(x), 0);
}

/** Prompt tokens of a (validated) request body in `format`. */
export function countPromptTokens(body: unknown, format: PromptFormat): number {
  if (!isObject(body)) return 0;
  switch (format) {
    case 'openai-chat':
    case 'anthropic-messages':
      return countTokens(chatPromptText(chatMessages(body, format), body.tools));
    case 'openai-completions':
      return inputTokens(body.prompt);
    case 'openai-embeddings':
      return inputTokens(body.input);
  }
}

/** The output tokens a request allows: `max_completion_tokens` or `max_tokens`, else undefined (embeddings: 0). */
export function maxOutputTokens(body: unknown, format: PromptFormat): number | undefined {
  if (format === 'openai-embeddings') return 0;
  if (!isObject(body)) return undefined;
  const v =
    format === 'anthropic-messages' ? body.max_tokens : (body.max_completion_tokens ?? body.max_tokens);
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** What a request reserves: prompt tokens + its max output (or `defaultMaxTokens`). */
export function reservationTokens(
  body: unknown,
  format: PromptFormat,
  defaultMaxTokens: number,
): { prompt: number; maxOutput: number; total: number } {
  const prompt = countPromptTokens(body, format);
  const maxOutput = maxOutputTokens(body, format) ?? defaultMaxTokens;
  return { prompt, maxOutput, total: prompt + maxOutput };
}
