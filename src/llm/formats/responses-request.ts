/**
 * An OpenAI Responses API request as a Chat Completions request: the front door serves
 * `POST /v1/responses` by this translation onto its chat path (to an OpenAI-format backend as it
 * is, to an Anthropic one through openai-to-anthropic-request.ts). Stateless: the whole
 * conversation comes in `input` (validate-responses.ts refuses what names stored state).
 *
 * - `instructions` → a first `system` message; `input` as a string → one `user` message.
 * - `input` items: a message (`type: "message"` or none) with role user, system, developer or
 *   assistant and content as a string or `input_text` / `output_text` parts → a chat message (one
 *   text part as a string); `function_call` → an assistant `tool_calls` entry (consecutive calls
 *   join the assistant message before them); `function_call_output` → a `tool` message; `reasoning`
 *   (a previous answer's output passed back, as clients of a stateless API do) is dropped: a chat
 *   backend takes no reasoning back. Images, files and audio (`input_image`, `input_file`,
 *   `input_audio`) and other item types (item references, built-in tool calls) fail naming their path.
 * - `reasoning.effort` → `reasoning_effort` (vLLM's and OpenAI's chat field for reasoning models);
 * - `max_output_tokens` → `max_tokens`; `temperature`, `top_p`, `parallel_tool_calls`, `user`,
 *   `stream` as they are; `tools` of type `function` → chat function tools (any other type fails
 *   naming `tools[i].type`: luascale runs no built-in tools); `tool_choice` likewise.
 */
import { fail, isObject, type Checked, type JsonObject } from './checked.js';
import type { OpenaiChatRequest, OpenaiMessage, OpenaiTool, OpenaiToolCall } from './types.js';
import { validateResponsesFields } from './validate-responses.js';

const ROLES = new Set(['user', 'system', 'developer', 'assistant']);
const TEXT_PARTS = new Set(['input_text', 'output_text']);
const MEDIA_PARTS = new Set(['input_image', 'input_file', 'input_audio']);

type Failure = ReturnType<typeof fail>;

/** The Chat Completions request for a Responses request (checked; a failure names the field). */
export function responsesToChat(body: unknown): Checked<OpenaiChatRequest> {
  const checked = validateResponsesFields(body);
  if (!checked.ok) return checked;
  const b = checked.value;
  const messages: OpenaiMessage[] = [];
  if (typeof b.instructions === 'string' && b.instructions !== '')
    messages.push({ role: 'system', content: b.instructions });
  const input = inputMessages(b.input, messages);
  if (input !== undefined) return input;
  const out: OpenaiChatRequest = { model: b.model as string, messages };
  if (typeof b.max_output_tokens === 'number') out.max_tokens = b.max_output_tokens;
  for (const key of ['temperature', 'top_p', 'parallel_tool_calls', 'user'] as const)
    if (b[key] !== undefined && b[key] !== null) (out as JsonObject)[key] = b[key];
  if (b.stream === true) out.stream = true;
  if (isObject(b.reasoning) && typeof b.reasoning.effort === 'string')
    (out as JsonObject).reasoning_effort = b.reasoning.effort;
  const tools = toolsOf(b.tools);
  if (!tools.ok) return tools;
  if (tools.value.length > 0) out.tools = tools.value;
  if (b.tool_choice !== undefined && b.tool_choice !== null) {
    const choice = toolChoiceOf(b.tool_choice);
    if (!choice.ok) return choice;
    out.tool_choice = choice.value as OpenaiChatRequest['tool_choice'];
  }
  return { ok: true, value: out };
}

/** Appends `input`'s messages to `out`; a failure naming the field, or undefined. */
function inputMessages(input: unknown, out: OpenaiMessage[]): Failure | undefined {
  if (typeof input === 'string') {
    out.push({ role: 'user', content: input });
    return undefined;
  }
  if (input === undefined || input === null) return fail('input', 'input: required');
  if (!Array.isArray(input)) return fail('input', 'input: must be a string or an array of input items');
  // Said here in the client's own field, not as the chat request's empty `messages` later.
  if (input.length === 0) return fail('input', 'input: must not be empty');
  const before = out.length;
  for (const [i, item] of input.entries()) {
    const path = `input[${i}]`;
    if (!isObject(item)) return fail(path, `${path}: must be an object`);
    const type = item.type ?? 'message';
    const problem =
      type === 'message'
        ? messageItem(item, path, out)
        : type === 'function_call'
          ? functionCall(item, path, out)
          : type === 'function_call_output'
            ? functionCallOutput(item, path, out)
            : type === 'reasoning'
              ? undefined
              : fail(`${path}.type`, `${path}.type: '${String(type)}' items are not supported`);
    if (problem !== undefined) return problem;
  }
  if (out.length === before)
    return fail('input', 'input: holds no message or function call to answer (reasoning items are dropped)');
  return undefined;
}

function messageItem(item: JsonObject, path: string, out: OpenaiMessage[]): Failure | undefined {
  const role = item.role;
  if (typeof role !== 'string' || !ROLES.has(role))
    return fail(`${path}.role`, `${path}.role: must be one of user, system, developer, assistant`);
  const content = item.content;
  if (typeof content === 'string') {
    out.push({ role: role as OpenaiMessage['role'], content });
    return undefined;
  }
  if (!Array.isArray(content))
    return fail(`${path}.content`, `${path}.content: must be a string or an array of content parts`);
  const texts: string[] = [];
  for (const [j, part] of content.entries()) {
    const p = `${path}.content[${j}]`;
    const type = isObject(part) ? part.type : undefined;
    if (typeof type === 'string' && MEDIA_PARTS.has(type))
      return fail(`${p}.type`, `${p}.type: '${type}' is not supported (text only)`);
    if (!isObject(part) || typeof type !== 'string' || !TEXT_PARTS.has(type))
      return fail(`${p}.type`, `${p}.type: must be input_text or output_text`);
    if (typeof part.text !== 'string') return fail(`${p}.text`, `${p}.text: must be a string`);
    texts.push(part.text);
  }
  out.push({
    role: role as OpenaiMessage['role'],
    content: texts.length === 1 ? texts[0]! : texts.map((text) => ({ type: 'text', text })),
  });
  return undefined;
}

function functionCall(item: JsonObject, path: string, out: OpenaiMessage[]): Failure | undefined {
  for (const key of ['call_id', 'name', 'arguments'])
    if (typeof item[key] !== 'string') return fail(`${path}.${key}`, `${path}.${key}: must be a string`);
  const call: OpenaiToolCall = {
    id: item.call_id as string,
    type: 'function',
    function: { name: item.name as string, arguments: item.arguments as string },
  };
  // The calls of one turn join the assistant message they follow (Chat Completions' shape).
  const last = out.at(-1);
  if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
  else out.push({ role: 'assistant', content: null, tool_calls: [call] });
  return undefined;
}

function functionCallOutput(item: JsonObject, path: string, out: OpenaiMessage[]): Failure | undefined {
  if (typeof item.call_id !== 'string') return fail(`${path}.call_id`, `${path}.call_id: must be a string`);
  let content = item.output;
  if (Array.isArray(content)) {
    const texts: string[] = [];
    for (const [j, part] of content.entries()) {
      const p = `${path}.output[${j}]`;
      if (!isObject(part) || part.type !== 'input_text' || typeof part.text !== 'string')
        return fail(`${p}.type`, `${p}.type: only input_text is supported`);
      texts.push(part.text);
    }
    content = texts.join('');
  }
  if (typeof content !== 'string') return fail(`${path}.output`, `${path}.output: must be a string`);
  out.push({ role: 'tool', tool_call_id: item.call_id, content });
  return undefined;
}

function toolsOf(tools: unknown): Checked<OpenaiTool[]> {
  if (tools === undefined || tools === null) return { ok: true, value: [] };
  if (!Array.isArray(tools)) return fail('tools', 'tools: must be an array');
  const out: OpenaiTool[] = [];
  for (const [i, t] of tools.entries()) {
    const p = `tools[${i}]`;
    if (!isObject(t)) return fail(p, `${p}: must be an object`);
    if (t.type !== 'function')
      return fail(
        `${p}.type`,
        `${p}.type: only 'function' tools are supported, got '${String(t.type)}' (luascale runs no built-in tools)`,
      );
    if (typeof t.name !== 'string' || t.name === '')
      return fail(`${p}.name`, `${p}.name: must be a non-empty string`);
    const fn: OpenaiTool['function'] = { name: t.name };
    if (typeof t.description === 'string') fn.description = t.description;
    if (isObject(t.parameters)) fn.parameters = t.parameters;
    if (typeof t.strict === 'boolean') fn.strict = t.strict;
    out.push({ type: 'function', function: fn });
  }
  return { ok: true, value: out };
}

function toolChoiceOf(choice: unknown): Checked<unknown> {
  if (choice === 'none' || choice === 'auto' || choice === 'required') return { ok: true, value: choice };
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string')
    return { ok: true, value: { type: 'function', function: { name: choice.name } } };
  return fail('tool_choice', "tool_choice: must be 'none', 'auto', 'required' or {type: 'function', name}");
}
