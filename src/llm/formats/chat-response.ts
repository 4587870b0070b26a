/**
 * Non-streaming responses translated both ways: an OpenAI `chat.completion` as an Anthropic
 * `message`, and back. Text, tool calls ↔ `tool_use` blocks, the stop reason (stop-reasons.ts)
 * and usage (usage.ts: Anthropic's `input_tokens` excludes the cached parts, OpenAI's
 * `prompt_tokens` includes them) carry over; the first choice is the one translated.
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import { finishToStopReason, stopReasonToFinish } from './stop-reasons.js';
import { emptyUsage, usageFromAnthropic, usageFromOpenai, usageToAnthropic, usageToOpenai } from './usage.js';

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
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
  const calls: JsonObject[] = [];
  for (const block of Array.isArray(resp.content) ? resp.content : []) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
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
