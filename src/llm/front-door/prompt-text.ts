/**
 * A request's prompt as one text, for prefix-affine routing (src/llm/routing/prompt-prefixes.ts):
 * llm-sim's documented chat rendering (`role: text` lines, tools first), so two requests that share
 * a conversation prefix share the text's leading tokens whatever format they came in.
 */
import { chatPromptText, type PromptMessage } from '../../llm-sim/tokenizer.js';
import { isObject, type JsonObject } from '../formats/checked.js';

const text = (c: unknown): string =>
  typeof c === 'string' ? c : c === undefined || c === null ? '' : JSON.stringify(c);

/** The prompt of a chat, messages or completions body. */
export function promptText(body: JsonObject): string {
  if (!Array.isArray(body.messages)) return text(body.prompt ?? body.input);
  const messages: PromptMessage[] = [];
  if (body.system !== undefined) messages.push({ role: 'system', text: text(body.system) });
  for (const m of body.messages)
    if (isObject(m)) messages.push({ role: String(m.role), text: text(m.content) });
  return chatPromptText(messages, body.tools);
}
