/**
 * The OpenAI Responses API's `response` object (openai-node's `Response`), built from a Chat
 * Completions answer: the first choice's reasoning (`reasoning_content`, from a reasoning model or an
 * Anthropic thinking block) → a `reasoning` item with one `reasoning_text` part (as vLLM and
 * OpenAI's open-weight models answer; no summary, no encrypted content) before the rest, its text → a
 * `message` output item with one `output_text` part, its tool calls → `function_call` items (`call_id`, `name`, `arguments`), finish reason
 * `length` → `status: "incomplete"` with `incomplete_details.reason: "max_output_tokens"`, usage →
 * `input_tokens` (cached ones in `input_tokens_details`), `output_tokens` (reasoning ones in
 * `output_tokens_details`), `total_tokens`. The request's own settings (instructions, tools,
 * sampling, metadata) are echoed as OpenAI does. Ids derive from the backend's answer id
 * (`chatcmpl-x` → `resp_x`, its message `msg_x`, a call `fc_<call id>`), so they are as unique as
 * the backend's and the translation stays pure.
 */
import { isObject, type JsonObject } from './checked.js';
import { reasoningOf } from './chat-response.js';
import { emptyUsage, usageFromOpenai, type Usage } from './usage.js';

/** What a response object is built from, besides its output. */
export interface ResponseShell {
  /** The client's Responses request (echoed fields). */
  request: JsonObject;
  /** The backend answer's id (chat completion or message id). */
  sourceId: unknown;
  /** Unix seconds. */
  created: number;
}

/** The id part of a backend id: `chatcmpl-abc` → `abc`, `msg_01X` → `01X`. */
function idPart(id: unknown): string {
  const s = typeof id === 'string' && id !== '' ? id : 'luascale';
  return s.replace(/^(chatcmpl-|cmpl-|msg_)/, '').replace(/[^A-Za-z0-9_-]/g, '');
}

/** The response id for a backend id. */
export function responseId(sourceId: unknown): string {
  return `resp_${idPart(sourceId)}`;
}

/** The output message item's id for a backend id. */
export function messageItemId(sourceId: unknown): string {
  return `msg_${idPart(sourceId)}`;
}

/** The reasoning item's id for a backend id. */
export function reasoningItemId(sourceId: unknown): string {
  return `rs_${idPart(sourceId)}`;
}

/** A function_call item's id for its call id. */
export function functionItemId(callId: unknown): string {
  return `fc_${idPart(callId)}`;
}

/** The Responses API's `usage` object. */
export function usageToResponses(u: Usage): JsonObject {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cachedInput },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

/** A `response` object with `status`, `output` and (when known) `usage`, echoing the request. */
export function responseObject(
  shell: ResponseShell,
  o: { status: string; output: JsonObject[]; usage?: Usage; incomplete?: boolean; error?: JsonObject },
): JsonObject {
  const r = shell.request;
  const orNull = (v: unknown) => (v === undefined ? null : v);
  return {
    id: responseId(shell.sourceId),
    object: 'response',
    created_at: shell.created,
    status: o.status,
    background: false,
    error: o.error ?? null,
    incomplete_details: o.incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: orNull(r.instructions),
    max_output_tokens: orNull(r.max_output_tokens),
    metadata: r.metadata ?? {},
    model: r.model,
    output: o.output,
    parallel_tool_calls: r.parallel_tool_calls !== false,
    previous_response_id: null,
    store: false,
    temperature: orNull(r.temperature),
    text: { format: { type: 'text' } },
    tool_choice: r.tool_choice ?? 'auto',
    tools: Array.isArray(r.tools) ? r.tools : [],
    top_p: orNull(r.top_p),
    truncation: 'disabled',
    usage: o.usage === undefined ? null : usageToResponses(o.usage),
    ...(typeof r.user === 'string' ? { user: r.user } : {}),
  };
}

/** A finished `message` output item with one `output_text` part. */
export function messageItem(id: string, text: string, status = 'completed'): JsonObject {
  return {
    id,
    type: 'message',
    status,
    role: 'assistant',
    content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

/** A finished `reasoning` output item with one `reasoning_text` part. */
export function reasoningItem(id: string, text: string, status = 'completed'): JsonObject {
  return { id, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text }], status };
}

/** A finished `function_call` output item. */
export function functionCallItem(
  call: { callId: unknown; name: unknown; arguments: string },
  status = 'completed',
): JsonObject {
  return {
    id: functionItemId(call.callId),
    type: 'function_call',
    status,
    call_id: call.callId,
    name: call.name,
    arguments: call.arguments,
  };
}

/** A whole Chat Completions answer (`chat.completion`) as a Responses API `response`. */
export function chatResponseToResponses(
  chat: JsonObject,
  o: { request: JsonObject; created: number },
): JsonObject {
  const shell: ResponseShell = { request: o.request, sourceId: chat.id, created: o.created };
  const choice = Array.isArray(chat.choices) && isObject(chat.choices[0]) ? chat.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const output: JsonObject[] = [];
  const reasoning = reasoningOf(message);
  if (reasoning !== '') output.push(reasoningItem(reasoningItemId(chat.id), reasoning));
  const text = textOf(message.content);
  if (text !== '') output.push(messageItem(messageItemId(chat.id), text));
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isObject(call) || !isObject(call.function)) continue;
    const args = call.function.arguments;
    output.push(
      functionCallItem({
        callId: call.id,
        name: call.function.name,
        arguments: typeof args === 'string' ? args : '',
      }),
    );
  }
  const incomplete = choice.finish_reason === 'length';
  // The item being written when the limit cut it is incomplete too, as OpenAI reports it.
  if (incomplete && output.length > 0) output[output.length - 1]!.status = 'incomplete';
  return responseObject(shell, {
    status: incomplete ? 'incomplete' : 'completed',
    incomplete,
    output,
    usage: usageFromOpenai(chat.usage) ?? emptyUsage(),
  });
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
}
