/**
 * An Anthropic Messages request as an OpenAI Chat Completions request, for an Anthropic client
 * whose model is served by an OpenAI-compatible backend (vLLM, llama.cpp, llm-sim, OpenAI). The
 * body is expected to have passed `validateAnthropicMessages`; what OpenAI cannot express fails
 * with the field's path.
 *
 * - `system` becomes one `system` message, first (text blocks joined by "\n").
 * - A user turn's `tool_result` blocks become `role: "tool"` messages, in order, before the rest
 *   of the turn (a user message of its remaining blocks).
 * - An assistant turn's text blocks join into `content`; `tool_use` blocks become `tool_calls`
 *   (`input` serialised to `arguments`); thinking blocks are dropped (they need the provider's signature,
 *   and a backend such as DeepSeek refuses `reasoning_content` sent back; llm-formats.md, Reasoning).
 * - Image blocks become `image_url` parts (base64 sources as data URLs).
 * - `stop_sequences` → `stop`; `metadata.user_id` → `user`; `disable_parallel_tool_use` →
 *   `parallel_tool_calls: false`; `top_k`, `cache_control`, `thinking` and a tool result's
 *   `is_error` are dropped (OpenAI has no field for them; `thinking.budget_tokens` is a token
 *   count, `reasoning_effort` a level, and mapping one to the other would be a guess). A stream asks for
 *   `stream_options.include_usage`, since the Anthropic client's `message_delta` needs the usage.
 */
import { fail, isObject, type Checked, type JsonObject } from './checked.js';
import type {
  AnthropicBlock,
  AnthropicMessage,
  AnthropicMessagesRequest,
  OpenaiChatRequest,
  OpenaiContentPart,
  OpenaiMessage,
  OpenaiTool,
  OpenaiToolCall,
  OpenaiToolChoice,
} from './types.js';

/** Options of `anthropicToOpenaiChat`. */
export interface ToOpenaiOptions {
  /** The backend's model name, when it differs from the client's. */
  model?: string;
}

type Failure = { ok: false; field: string; message: string };
const isFailure = (v: unknown): v is Failure => isObject(v) && v.ok === false;

function cannot(path: string, type: string): Failure {
  return fail(`${path}.type`, `${path}.type: '${type}' blocks cannot be sent to an OpenAI backend`);
}

function imagePart(block: AnthropicBlock, path: string): OpenaiContentPart | Failure {
  const source = isObject(block.source) ? block.source : {};
  if (source.type === 'base64')
    return {
      type: 'image_url',
      image_url: { url: `data:${String(source.media_type)};base64,${String(source.data)}` },
    };
  if (source.type === 'url') return { type: 'image_url', image_url: { url: String(source.url) } };
  return fail(
    `${path}.source.type`,
    `${path}.source.type: '${String(source.type)}' images cannot be sent to an OpenAI backend`,
  );
}

/** User-side blocks (text, image) as OpenAI content parts. */
function userParts(blocks: AnthropicBlock[], path: string): OpenaiContentPart[] | Failure {
  const parts: OpenaiContentPart[] = [];
  for (const [j, block] of blocks.entries()) {
    const p = `${path}[${j}]`;
    if (block.type === 'text') parts.push({ type: 'text', text: String(block.text) });
    else if (block.type === 'image') {
      const part = imagePart(block, p);
      if (isFailure(part)) return part;
      parts.push(part);
    } else return cannot(p, block.type);
  }
  return parts;
}

function toolMessage(block: AnthropicBlock, path: string): OpenaiMessage | Failure {
  const c = block.content;
  let content: string | OpenaiContentPart[] = '';
  if (typeof c === 'string') content = c;
  else if (Array.isArray(c)) {
    const parts = userParts(c as AnthropicBlock[], `${path}.content`);
    if (isFailure(parts)) return parts;
    if (parts.some((p) => p.type !== 'text'))
      return fail(`${path}.content`, `${path}.content: an OpenAI tool message holds text only`);
    content = parts;
  }
  return { role: 'tool', tool_call_id: String(block.tool_use_id), content };
}

function userMessages(m: AnthropicMessage, path: string): OpenaiMessage[] | Failure {
  if (typeof m.content === 'string') return [{ role: 'user', content: m.content }];
  const out: OpenaiMessage[] = [];
  const rest: AnthropicBlock[] = [];
  let restStart = -1;
  for (const [j, block] of m.content.entries()) {
    if (block.type !== 'tool_result') {
      if (restStart < 0) restStart = j;
      rest.push(block);
      continue;
    }
    const tool = toolMessage(block, `${path}.content[${j}]`);
    if (isFailure(tool)) return tool;
    out.push(tool);
  }
  if (rest.length === 0) return out;
  const parts = userParts(rest, `${path}.content`);
  if (isFailure(parts)) return parts;
  // After tool results, a lone text block was most likely a plain string: send it as one.
  const only = parts[0];
  const plain = out.length > 0 && parts.length === 1 && only?.type === 'text';
  out.push({ role: 'user', content: plain ? (only.text ?? '') : parts });
  return out;
}

function assistantMessage(m: AnthropicMessage, path: string): OpenaiMessage | Failure {
  if (typeof m.content === 'string') return { role: 'assistant', content: m.content };
  const texts: string[] = [];
  const calls: OpenaiToolCall[] = [];
  for (const [j, block] of m.content.entries()) {
    if (block.type === 'text') texts.push(String(block.text));
    else if (block.type === 'tool_use')
      calls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    else if (block.type !== 'thinking' && block.type !== 'redacted_thinking')
      return cannot(`${path}.content[${j}]`, block.type);
  }
  const message: OpenaiMessage = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : calls.length > 0 ? null : '',
  };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function systemMessages(system: AnthropicMessagesRequest['system']): OpenaiMessage[] {
  if (system === undefined) return [];
  if (typeof system === 'string') return [{ role: 'system', content: system }];
  if (system.length === 0) return [];
  // One system message: many open models' chat templates (vLLM, llama.cpp) accept a system
  // message only first, or only one.
  return [{ role: 'system', content: system.map((b) => String(b.text)).join('\n') }];
}

function translateTools(body: AnthropicMessagesRequest): OpenaiTool[] | Failure {
  const tools: OpenaiTool[] = [];
  for (const [i, t] of (body.tools ?? []).entries()) {
    if (t.type !== undefined && t.type !== null && t.type !== 'custom')
      return fail(
        `tools[${i}].type`,
        `tools[${i}].type: server tool '${t.type}' cannot run on an OpenAI backend`,
      );
    const fn: OpenaiTool['function'] = { name: t.name, parameters: t.input_schema };
    if (t.description !== undefined) fn.description = t.description;
    tools.push({ type: 'function', function: fn });
  }
  return tools;
}

function translateToolChoice(body: AnthropicMessagesRequest): OpenaiToolChoice | undefined {
  const c = body.tool_choice;
  if (c === undefined) return undefined;
  if (c.type === 'auto') return 'auto';
  if (c.type === 'any') return 'required';
  if (c.type === 'none') return 'none';
  return 'name' in c ? { type: 'function', function: { name: c.name } } : undefined;
}

/** An Anthropic Messages body as an OpenAI Chat Completions body. */
export function anthropicToOpenaiChat(
  body: AnthropicMessagesRequest,
  options: ToOpenaiOptions = {},
): Checked<OpenaiChatRequest> {
  const messages = systemMessages(body.system);
  for (const [i, m] of body.messages.entries()) {
    const path = `messages[${i}]`;
    const translated = m.role === 'user' ? userMessages(m, path) : assistantMessage(m, path);
    if (isFailure(translated)) return translated;
    messages.push(...(Array.isArray(translated) ? translated : [translated]));
  }
  const out: OpenaiChatRequest = {
    model: options.model ?? body.model,
    messages,
    max_tokens: body.max_tokens,
  };
  if (body.stop_sequences && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (body.tools && body.tools.length > 0) {
    const tools = translateTools(body);
    if (isFailure(tools)) return tools;
    out.tools = tools;
    const choice = translateToolChoice(body);
    if (choice) out.tool_choice = choice;
    if (body.tool_choice?.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  }
  const user = (body.metadata as JsonObject | undefined)?.user_id;
  if (typeof user === 'string') out.user = user;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return { ok: true, value: out };
}
