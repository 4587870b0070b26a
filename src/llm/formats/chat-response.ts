/**
 * Non-streaming responses translated both ways: an OpenAI `chat.completion` as an Anthropic
 * `message`, and back. Text, tool calls ↔ `tool_use` blocks, the stop reason (stop-reasons.ts)
 * and usage (usage.ts: Anthropic's `input_tokens` excludes the cached parts, OpenAI's
 * `prompt_tokens` includes them) carry over; the first choice is the one translated.
 * Reasoning: an OpenAI-compatible `reasoning_content` (or `reasoning`) ↔ Anthropic `thinking`
 * blocks (the thinking block gets an empty `signature`; `redacted_thinking` is dropped).
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import { finishToStopReason, stopReasonToFinish } from './stop-reasons.js';
import { emptyUsage, usageFromAnthropic, usageFromOpenai, usageToAnthropic, usageToOpenai } from './usage.js';

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

/**
 * The reasoning text of an OpenAI-compatible message or delta: `reasoning_content` (vLLM's and
 * DeepSeek's field; OpenAI's own Chat Completions returns none) or `reasoning` (vLLM's newer name,
 * OpenRouter's); '' without one.
 */
export function reasoningOf(m: JsonObject): string {
  if (typeof m.reasoning_content === 'string') return m.reasoning_content;
  return typeof m.reasoning === 'string' ? m.reasoning : '';
}

/** Tool-call arguments as an object; text that is not a JSON object is kept under `arguments`. */
export function toolInput(args: unknown): JsonObject {
  if (typeof args !== 'string' || args.trim() === '') return {};
  const parsed = tryParseJson(args);
  return isObject(parsed) ? parsed : { arguments: args };
}

/** An OpenAI `chat.completion` as an Anthropic `message`. */
export function openaiChatResponseToAnthropic(resp: JsonObject): JsonObject {
  const choice = Array.isArray(resp.choices) && isObject(resp.choices[0]) ? resp.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const content: JsonObject[] = [];
  // reasoning → a thinking block first, as Anthropic orders them; luascale has no signature to give
  const thinking = reasoningOf(message);
  if (thinking !== '') content.push({ type: 'thinking', thinking, signature: '' });
  const text = textOf(message.content) || (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') content.push({ type: 'text', text });
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isObject(call) || !isObject(call.function)) continue;
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toolInput(call.function.arguments),
    });
  }
  return {
    id: resp.id,
    type: 'message',
    role: 'assistant',
    model: resp.model,
    content,
    stop_reason: finishToStopReason(choice.finish_reason),
    stop_sequence: null,
    usage: usageToAnthropic(usageFromOpenai(resp.usage) ?? emptyUsage()),
  };
}

/** Options of `anthropicResponseToOpenaiChat`. */
export interface ToOpenaiResponseOptions {
  /** `created`, in Unix seconds (Anthropic's message has no timestamp). */
  created: number;
}

/** An Anthropic `message` as an OpenAI `chat.completion`. */
export function anthropicResponseToOpenaiChat(
  resp: JsonObject,
  options: ToOpenaiResponseOptions,
): JsonObject {
  const texts: string[] = [];
  const thoughts: string[] = [];
  const calls: JsonObject[] = [];
  for (const block of Array.isArray(resp.content) ? resp.content : []) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    // redacted_thinking is encrypted: nothing an OpenAI client could read
    else if (block.type === 'thinking' && typeof block.thinking === 'string') thoughts.push(block.thinking);
    else if (block.type === 'tool_use')
      calls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
  }
  const message: JsonObject = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : calls.length > 0 ? null : '',
    refusal: null,
  };
  if (thoughts.length > 0) message.reasoning_content = thoughts.join('');
  if (calls.length > 0) message.tool_calls = calls;
  return {
    id: resp.id,
    object: 'chat.completion',
    created: options.created,
    model: resp.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: stopReasonToFinish(resp.stop_reason) }],
    usage: usageToOpenai(usageFromAnthropic(resp.usage) ?? emptyUsage()),
  };
}
