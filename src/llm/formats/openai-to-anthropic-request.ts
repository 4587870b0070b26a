/**
 * An OpenAI Chat Completions request as an Anthropic Messages request, for an OpenAI client whose
 * model is served by an Anthropic backend. The body is expected to have passed
 * `validateOpenaiChat`; what Anthropic cannot express fails with the field's path.
 *
 * - `system` and `developer` messages become `system` (a string for one message, text blocks
 *   for several, in order; Anthropic has no mid-conversation system turn).
 * - Consecutive messages of one Anthropic role merge into one turn, so the `role: "tool"`
 *   messages after an assistant's tool calls become `tool_result` blocks at the start of one user
 *   message, as Anthropic requires, followed by any user message that comes next.
 * - Assistant `tool_calls` become `tool_use` blocks (`arguments` parsed to `input`); an assistant
 *   message with no content and no tool calls is left out (Anthropic refuses empty turns).
 * - `image_url` parts become image blocks (data URLs as base64 sources, others as URL sources).
 * - `max_completion_tokens` or `max_tokens`, else `maxTokensDefault` (Anthropic requires one);
 *   `stop` → `stop_sequences`; `temperature` clamped to Anthropic's 0..1; `user` →
 *   `metadata.user_id`; `parallel_tool_calls: false` → `disable_parallel_tool_use`;
 *   `stream_options` dropped (Anthropic streams always report usage). `n` > 1 fails.
 * - Fields Anthropic has no counterpart for (`response_format`, `logprobs`, `seed`, the
 *   penalties, `logit_bias`, `name`) are dropped, and so are `reasoning_effort` (Anthropic's
 *   `thinking` needs a token budget an effort level does not name) and an assistant's
 *   `reasoning_content` (Anthropic refuses thinking blocks without its own signature); the backend's answer may then differ from what
 *   an OpenAI model would give (JSON mode is not enforced).
 */
import { fail, isObject, tryParseJson, type Checked } from './checked.js';
import type {
  AnthropicBlock,
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicTool,
  AnthropicToolChoice,
  OpenaiChatRequest,
  OpenaiContentPart,
  OpenaiMessage,
} from './types.js';

/** Options of `openaiChatToAnthropic`. */
export interface ToAnthropicOptions {
  /** `max_tokens` when the client sets none (Anthropic requires it). Default 4096. */
  maxTokensDefault?: number;
  /** The backend's model name, when it differs from the client's. */
  model?: string;
}

type Failure = { ok: false; field: string; message: string };
const isFailure = (v: unknown): v is Failure => isObject(v) && v.ok === false;

/** `data:<media type>;base64,<data>` as an Anthropic base64 source. */
function imageBlock(url: string): AnthropicBlock {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (m) return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function partsToBlocks(parts: OpenaiContentPart[], path: string): AnthropicBlock[] | Failure {
  const blocks: AnthropicBlock[] = [];
  for (const [j, part] of parts.entries()) {
    if (part.type === 'text') blocks.push({ type: 'text', text: part.text ?? '' });
    else if (part.type === 'refusal') blocks.push({ type: 'text', text: part.refusal ?? '' });
    else if (part.type === 'image_url' && part.image_url) blocks.push(imageBlock(part.image_url.url));
    else
      return fail(
        `${path}.content[${j}].type`,
        `${path}.content[${j}].type: '${part.type}' parts cannot be sent to an Anthropic backend`,
      );
  }
  return blocks;
}

function textOf(content: OpenaiMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => p.text ?? '').join('\n');
}

/** An assistant message's content and tool calls as blocks (a bare string stays a string). */
function assistantContent(m: OpenaiMessage, path: string): string | AnthropicBlock[] | Failure {
  const calls = m.tool_calls ?? [];
  if (typeof m.content === 'string' && calls.length === 0) return m.content;
  const blocks: AnthropicBlock[] = [];
  if (typeof m.content === 'string' && m.content !== '') blocks.push({ type: 'text', text: m.content });
  if (Array.isArray(m.content)) {
    const parts = partsToBlocks(m.content, path);
    if (isFailure(parts)) return parts;
    blocks.push(...parts);
  }
  if (calls.length === 0 && typeof m.refusal === 'string') blocks.push({ type: 'text', text: m.refusal });
  for (const [j, call] of calls.entries()) {
    const args = call.function.arguments.trim() === '' ? {} : tryParseJson(call.function.arguments);
    if (!isObject(args))
      return fail(
        `${path}.tool_calls[${j}].function.arguments`,
        `${path}.tool_calls[${j}].function.arguments: must be a JSON object to become a tool_use input`,
      );
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: args });
  }
  return blocks;
}

function toolResult(m: OpenaiMessage): AnthropicBlock {
  const content =
    typeof m.content === 'string'
      ? m.content
      : (m.content ?? []).map((p) => ({ type: 'text', text: p.text ?? '' }));
  return { type: 'tool_result', tool_use_id: m.tool_call_id, content };
}

function asBlocks(content: string | AnthropicBlock[]): AnthropicBlock[] {
  return typeof content === 'string' ? (content === '' ? [] : [{ type: 'text', text: content }]) : content;
}

/** Appends a turn, merging it into the previous one when the role repeats. */
function append(
  out: AnthropicMessage[],
  role: 'user' | 'assistant',
  content: string | AnthropicBlock[],
): void {
  const last = out[out.length - 1];
  if (last && last.role === role) last.content = [...asBlocks(last.content), ...asBlocks(content)];
  else out.push({ role, content });
}

function translateMessages(
  messages: OpenaiMessage[],
): { system: string[]; messages: AnthropicMessage[] } | Failure {
  const system: string[] = [];
  const out: AnthropicMessage[] = [];
  for (const [i, m] of messages.entries()) {
    const path = `messages[${i}]`;
    if (m.role === 'system' || m.role === 'developer') system.push(textOf(m.content));
    else if (m.role === 'tool') append(out, 'user', [toolResult(m)]);
    else if (m.role === 'assistant') {
      const content = assistantContent(m, path);
      if (isFailure(content)) return content;
      // Anthropic refuses an empty assistant turn; an empty one says nothing, so it is left out.
      if (content.length > 0) append(out, 'assistant', content);
    } else if (typeof m.content === 'string') append(out, 'user', m.content);
    else {
      const blocks = partsToBlocks(m.content ?? [], path);
      if (isFailure(blocks)) return blocks;
      append(out, 'user', blocks);
    }
  }
  return { system, messages: out };
}

function translateTools(body: OpenaiChatRequest): AnthropicTool[] {
  return (body.tools ?? []).map((t) => {
    const tool: AnthropicTool = {
      name: t.function.name,
      input_schema: t.function.parameters ?? { type: 'object', properties: {} },
    };
    if (t.function.description !== undefined) tool.description = t.function.description;
    return tool;
  });
}

function translateToolChoice(body: OpenaiChatRequest): AnthropicToolChoice | undefined {
  const c = body.tool_choice;
  let choice: AnthropicToolChoice | undefined;
  if (c === 'auto') choice = { type: 'auto' };
  else if (c === 'required') choice = { type: 'any' };
  else if (c === 'none') choice = { type: 'none' };
  else if (isObject(c)) choice = { type: 'tool', name: c.function.name };
  if (body.parallel_tool_calls === false && choice?.type !== 'none')
    choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return choice;
}

/** An OpenAI Chat Completions body as an Anthropic Messages body. */
export function openaiChatToAnthropic(
  body: OpenaiChatRequest,
  options: ToAnthropicOptions = {},
): Checked<AnthropicMessagesRequest> {
  if (typeof body.n === 'number' && body.n > 1)
    return fail('n', 'n: an Anthropic backend returns one choice; n must be 1');
  const translated = translateMessages(body.messages);
  if (isFailure(translated)) return translated;
  if (translated.messages.length === 0)
    return fail('messages', 'messages: an Anthropic backend needs at least one user or assistant message');
  const out: AnthropicMessagesRequest = {
    model: options.model ?? body.model,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? options.maxTokensDefault ?? 4096,
    messages: translated.messages,
  };
  const { system } = translated;
  if (system.length === 1) out.system = system[0];
  else if (system.length > 1) out.system = system.map((text) => ({ type: 'text', text }));
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;
  // OpenAI's temperature runs 0..2, Anthropic's 0..1.
  if (typeof body.temperature === 'number') out.temperature = Math.min(body.temperature, 1);
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (body.tools && body.tools.length > 0) out.tools = translateTools(body);
  const choice = translateToolChoice(body);
  if (choice && out.tools) out.tool_choice = choice;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (body.stream === true) out.stream = true;
  return { ok: true, value: out };
}
