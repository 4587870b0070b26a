/**
 * Validates an Anthropic Messages body (`POST /v1/messages`) as the API reference describes it,
 * so a bad request is answered 400 in Anthropic's shape, naming the field as a JSON path
 * (`messages[1].content[0].tool_use_id`). Block types it does not know pass through (the API adds
 * new ones often); the known ones are checked.
 */
import { fail, isObject, type Checked, type JsonObject } from './checked.js';
import {
  booleanField,
  describeValue,
  firstProblem,
  numberField,
  requiredString,
  stringList,
  type Problem,
} from './field-checks.js';
import type { AnthropicMessagesRequest } from './types.js';

function textBlockProblem(block: JsonObject, p: string): Problem {
  return typeof block.text === 'string' ? undefined : fail(`${p}.text`, `${p}.text: must be a string`);
}

function imageProblem(block: JsonObject, p: string): Problem {
  const source = block.source;
  if (!isObject(source)) return fail(`${p}.source`, `${p}.source: required`);
  if (source.type === 'base64')
    return firstProblem([
      () => requiredString(source, 'media_type', `${p}.source.media_type`),
      () => requiredString(source, 'data', `${p}.source.data`),
    ]);
  if (source.type === 'url') return requiredString(source, 'url', `${p}.source.url`);
  if (source.type === 'file') return requiredString(source, 'file_id', `${p}.source.file_id`);
  return fail(`${p}.source.type`, `${p}.source.type: must be 'base64', 'url' or 'file'`);
}

function toolResultProblem(block: JsonObject, p: string): Problem {
  const c = block.content;
  return firstProblem([
    () => requiredString(block, 'tool_use_id', `${p}.tool_use_id`),
    () => booleanField(block, 'is_error', `${p}.is_error`),
    () =>
      c === undefined || typeof c === 'string'
        ? undefined
        : Array.isArray(c)
          ? blocksProblem(c, `${p}.content`, 'user')
          : fail(`${p}.content`, `${p}.content: must be a string or an array of blocks`),
  ]);
}

function blockProblem(block: unknown, p: string, role: 'user' | 'assistant'): Problem {
  if (!isObject(block) || typeof block.type !== 'string')
    return fail(`${p}.type`, `${p}.type: each content block needs a string type`);
  switch (block.type) {
    case 'text':
      return textBlockProblem(block, p);
    case 'image':
      return imageProblem(block, p);
    case 'tool_use':
      if (role !== 'assistant')
        return fail(`${p}.type`, `${p}.type: tool_use blocks belong in assistant messages`);
      return firstProblem([
        () => requiredString(block, 'id', `${p}.id`),
        () => requiredString(block, 'name', `${p}.name`),
        () => (isObject(block.input) ? undefined : fail(`${p}.input`, `${p}.input: must be an object`)),
      ]);
    case 'tool_result':
      if (role !== 'user') return fail(`${p}.type`, `${p}.type: tool_result blocks belong in user messages`);
      return toolResultProblem(block, p);
    default:
      return undefined;
  }
}

function blocksProblem(blocks: unknown[], path: string, role: 'user' | 'assistant'): Problem {
  for (const [j, block] of blocks.entries()) {
    const problem = blockProblem(block, `${path}[${j}]`, role);
    if (problem) return problem;
  }
  return undefined;
}

function messageProblem(m: unknown, i: number): Problem {
  const path = `messages[${i}]`;
  if (!isObject(m)) return fail(path, `${path}: must be an object`);
  if (m.role !== 'user' && m.role !== 'assistant')
    return fail(`${path}.role`, `${path}.role: must be 'user' or 'assistant', got ${describeValue(m.role)}`);
  if (typeof m.content === 'string') return undefined;
  if (!Array.isArray(m.content))
    return fail(`${path}.content`, `${path}.content: must be a string or an array of content blocks`);
  return blocksProblem(m.content, `${path}.content`, m.role);
}

function systemProblem(body: JsonObject): Problem {
  const s = body.system;
  if (s === undefined || typeof s === 'string') return undefined;
  if (!Array.isArray(s)) return fail('system', 'system: must be a string or an array of text blocks');
  for (const [j, block] of s.entries()) {
    const p = `system[${j}]`;
    if (!isObject(block) || block.type !== 'text') return fail(`${p}.type`, `${p}.type: must be 'text'`);
    const problem = textBlockProblem(block, p);
    if (problem) return problem;
  }
  return undefined;
}

function toolsProblem(body: JsonObject): Problem {
  if (body.tools === undefined) return undefined;
  if (!Array.isArray(body.tools)) return fail('tools', 'tools: must be an array');
  for (const [i, tool] of body.tools.entries()) {
    const p = `tools[${i}]`;
    if (!isObject(tool)) return fail(p, `${p}: must be an object`);
    const problem = requiredString(tool, 'name', `${p}.name`);
    if (problem) return problem;
    // Server tools (web search, bash, …) carry a versioned type and no input_schema.
    const custom = tool.type === undefined || tool.type === null || tool.type === 'custom';
    if (custom && !isObject(tool.input_schema))
      return fail(`${p}.input_schema`, `${p}.input_schema: must be a JSON Schema object`);
  }
  return undefined;
}

function toolChoiceProblem(body: JsonObject): Problem {
  const c = body.tool_choice;
  if (c === undefined) return undefined;
  if (!isObject(c)) return fail('tool_choice', 'tool_choice: must be an object');
  if (c.type === 'auto' || c.type === 'any' || c.type === 'none')
    return booleanField(c, 'disable_parallel_tool_use', 'tool_choice.disable_parallel_tool_use');
  if (c.type === 'tool') return requiredString(c, 'name', 'tool_choice.name');
  return fail('tool_choice.type', "tool_choice.type: must be 'auto', 'any', 'tool' or 'none'");
}

/** Validates a `/v1/messages` body. */
export function validateAnthropicMessages(body: unknown): Checked<AnthropicMessagesRequest> {
  if (!isObject(body)) return fail('', 'the request body must be a JSON object');
  const head = firstProblem([
    () => requiredString(body, 'model'),
    () =>
      body.max_tokens === undefined || body.max_tokens === null
        ? fail('max_tokens', 'max_tokens: required')
        : undefined,
    () => numberField(body, 'max_tokens', { integer: true, min: 1 }),
    () =>
      Array.isArray(body.messages) && body.messages.length > 0
        ? undefined
        : fail('messages', 'messages: must be a non-empty array'),
  ]);
  if (head) return head;
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    const problem = messageProblem(m, i);
    if (problem) return problem;
  }
  const problem = firstProblem([
    () => systemProblem(body),
    () => numberField(body, 'temperature', { min: 0, max: 1 }),
    () => numberField(body, 'top_p', { min: 0, max: 1 }),
    () => numberField(body, 'top_k', { integer: true, min: 0 }),
    () => stringList(body, 'stop_sequences', Number.POSITIVE_INFINITY),
    () => booleanField(body, 'stream'),
    () => toolsProblem(body),
    () => toolChoiceProblem(body),
    () =>
      body.metadata === undefined || isObject(body.metadata)
        ? undefined
        : fail('metadata', 'metadata: must be an object'),
  ]);
  return problem ?? { ok: true, value: body as unknown as AnthropicMessagesRequest };
}
