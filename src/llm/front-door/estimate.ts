/**
 * The output tokens of a stream that ended without its usage (cut, failed, or the client left):
 * the text of the content events delivered, counted with the offline tokenizer llm-sim and the
 * budgets count with (gpt-tokenizer, o200k_base). Parsed only here, at the end, so the relay's
 * hot path never parses a chunk for it.
 */
import { countTokens } from '../../llm-sim/tokenizer.js';
import { isObject, tryParseJson } from '../formats/checked.js';
import type { ApiFormat } from './endpoints.js';

/** The generated text in one event's data (OpenAI chunk or Anthropic content_block_delta). */
export function eventText(data: string, format: ApiFormat): string {
  const j = tryParseJson(data);
  if (!isObject(j)) return '';
  if (format === 'anthropic') {
    const d = j.delta;
    if (!isObject(d)) return '';
    return String(d.text ?? d.partial_json ?? d.thinking ?? '');
  }
  let text = '';
  for (const c of Array.isArray(j.choices) ? j.choices : []) {
    if (!isObject(c)) continue;
    if (typeof c.text === 'string') text += c.text;
    const d = c.delta;
    if (!isObject(d)) continue;
    if (typeof d.content === 'string') text += d.content;
    if (typeof d.reasoning_content === 'string') text += d.reasoning_content;
    for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : [])
      if (isObject(t) && isObject(t.function) && typeof t.function.arguments === 'string')
        text += t.function.arguments;
  }
  return text;
}

/** Tokens of the text delivered in `events` (data of a stream's events in `format`). */
export function estimateOutputTokens(events: readonly string[], format: ApiFormat): number {
  let text = '';
  for (const e of events) text += eventText(e, format);
  return countTokens(text);
}
