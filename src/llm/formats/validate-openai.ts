/**
 * Validates OpenAI-format request bodies (Chat Completions, Completions, Embeddings) the way the
 * API reference describes them, so a bad request is answered 400 in OpenAI's shape, naming the
 * field as a JSON path (`messages[2].content`), before anything reaches a backend. Fields it does
 * not know pass through untouched.
 */
import { fail, isObject, type Checked, type JsonObject } from './checked.js';
import {
  booleanField,
  describeValue,
  firstProblem,
  numberField,
  requiredString,
  stringField,
  stringList,
  type Problem,
} from './field-checks.js';
import type { OpenaiChatRequest, OpenaiCompletionRequest, OpenaiEmbeddingRequest } from './types.js';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
/** OpenAI's rule for function names. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The sampling and streaming fields Chat Completions and Completions share. */
function commonProblem(body: JsonObject): Problem {
  return firstProblem([
    () => requiredString(body, 'model'),
    () => numberField(body, 'max_tokens', { integer: true, min: 1 }),
    () => numberField(body, 'max_completion_tokens', { integer: true, min: 1 }),
    () => numberField(body, 'temperature', { min: 0, max: 2 }),
    () => numberField(body, 'top_p', { min: 0, max: 1 }),
    () => numberField(body, 'n', { integer: true, min: 1, max: 128 }),
    () => numberField(body, 'presence_penalty', { min: -2, max: 2 }),
    () => numberField(body, 'frequency_penalty', { min: -2, max: 2 }),
    () => numberField(body, 'seed', { integer: true }),
    () => booleanField(body, 'stream'),
    () => stopProblem(body),
    () => streamOptionsProblem(body),
    () => stringField(body, 'user'),
  ]);
}

function stopProblem(body: JsonObject): Problem {
  if (typeof body.stop === 'string') return undefined;
  return stringList(body, 'stop', 4);
}

function streamOptionsProblem(body: JsonObject): Problem {
  const so = body.stream_options;
  if (so === undefined || so === null) return undefined;
  if (body.stream !== true)
    return fail('stream_options', "stream_options: only allowed when 'stream' is true");
  if (!isObject(so))
    return fail('stream_options', `stream_options: must be an object, got ${describeValue(so)}`);
  return booleanField(so, 'include_usage', 'stream_options.include_usage');
}

/** A message's `content`: a string, null, or an array of typed parts. */
function contentProblem(m: JsonObject, path: string): Problem {
  const c = m.content;
  if (typeof c === 'string') return undefined;
  if (c === null || c === undefined) {
    // Only an assistant message may leave content out (when it carries tool calls or a refusal).
    if (m.role === 'assistant') return undefined;
    return fail(`${path}.content`, `${path}.content: required for role '${String(m.role)}'`);
  }
  if (!Array.isArray(c))
    return fail(`${path}.content`, `${path}.content: must be a string or an array of content parts`);
  for (const [j, part] of c.entries()) {
    const p = `${path}.content[${j}]`;
    if (!isObject(part) || typeof part.type !== 'string')
      return fail(`${p}.type`, `${p}.type: each content part needs a string type`);
    if (part.type === 'text' && typeof part.text !== 'string')
      return fail(`${p}.text`, `${p}.text: must be a string`);
    if (part.type === 'refusal' && typeof part.refusal !== 'string')
      return fail(`${p}.refusal`, `${p}.refusal: must be a string`);
    if (part.type === 'image_url' && !(isObject(part.image_url) && typeof part.image_url.url === 'string'))
      return fail(`${p}.image_url.url`, `${p}.image_url.url: must be a string`);
  }
  return undefined;
}

function toolCallsProblem(m: JsonObject, path: string): Problem {
  if (m.tool_calls === undefined || m.tool_calls === null) return undefined;
  if (m.role !== 'assistant')
    return fail(`${path}.tool_calls`, `${path}.tool_calls: only assistant messages carry tool calls`);
  if (!Array.isArray(m.tool_calls)) return fail(`${path}.tool_calls`, `${path}.tool_calls: must be an array`);
  for (const [j, call] of m.tool_calls.entries()) {
    const p = `${path}.tool_calls[${j}]`;
    if (!isObject(call)) return fail(p, `${p}: must be an object`);
    const problem = firstProblem([
      () => requiredString(call, 'id', `${p}.id`),
      () => (call.type === 'function' ? undefined : fail(`${p}.type`, `${p}.type: must be 'function'`)),
      () => (isObject(call.function) ? undefined : fail(`${p}.function`, `${p}.function: required`)),
      () => requiredString(call.function as JsonObject, 'name', `${p}.function.name`),
      () =>
        typeof (call.function as JsonObject).arguments === 'string'
          ? undefined
          : fail(`${p}.function.arguments`, `${p}.function.arguments: must be a JSON string`),
    ]);
    if (problem) return problem;
  }
  return undefined;
}

function messageProblem(m: unknown, i: number): Problem {
  const path = `messages[${i}]`;
  if (!isObject(m)) return fail(path, `${path}: must be an object`);
  if (typeof m.role !== 'string' || !ROLES.has(m.role))
    return fail(
      `${path}.role`,
      `${path}.role: must be one of ${[...ROLES].join(', ')}, got ${describeValue(m.role)}`,
    );
  return firstProblem([
    () => contentProblem(m, path),
    () => toolCallsProblem(m, path),
    () => stringField(m, 'name', `${path}.name`),
    () => (m.role === 'tool' ? requiredString(m, 'tool_call_id', `${path}.tool_call_id`) : undefined),
  ]);
}

function toolsProblem(body: JsonObject): Problem {
  const tools = body.tools;
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) return fail('tools', 'tools: must be an array');
  for (const [i, tool] of tools.entries()) {
    const p = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function')
      return fail(`${p}.type`, `${p}.type: must be 'function'`);
    if (!isObject(tool.function)) return fail(`${p}.function`, `${p}.function: required`);
    const name = tool.function.name;
    if (typeof name !== 'string' || !FUNCTION_NAME.test(name))
      return fail(
        `${p}.function.name`,
        `${p}.function.name: must match ^[a-zA-Z0-9_-]{1,64}$, got ${describeValue(name)}`,
      );
    const params = tool.function.parameters;
    if (params !== undefined && !isObject(params))
      return fail(`${p}.function.parameters`, `${p}.function.parameters: must be a JSON Schema object`);
  }
  return undefined;
}

function toolChoiceProblem(body: JsonObject): Problem {
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none' || choice === 'auto' || choice === 'required') return undefined;
  const tools = Array.isArray(body.tools) ? (body.tools as JsonObject[]) : [];
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function)) {
    const name = choice.function.name;
    if (tools.some((t) => isObject(t.function) && t.function.name === name)) return undefined;
    return fail(
      'tool_choice.function.name',
      `tool_choice.function.name: no tool named ${describeValue(name)} in tools`,
    );
  }
  return fail(
    'tool_choice',
    "tool_choice: must be 'none', 'auto', 'required' or {type: 'function', function: {name}}",
  );
}

/** Validates a `/v1/chat/completions` body. */
export function validateOpenaiChat(body: unknown): Checked<OpenaiChatRequest> {
  if (!isObject(body)) return fail('', 'the request body must be a JSON object');
  const common = commonProblem(body);
  if (common) return common;
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return fail('messages', 'messages: must be a non-empty array');
  for (const [i, m] of body.messages.entries()) {
    const problem = messageProblem(m, i);
    if (problem) return problem;
  }
  const problem = firstProblem([
    () => toolsProblem(body),
    () => toolChoiceProblem(body),
    () => booleanField(body, 'parallel_tool_calls'),
  ]);
  return problem ?? { ok: true, value: body as OpenaiChatRequest };
}

/** True for a non-empty array whose every item passes `test`. */
function arrayOf(v: unknown, test: (x: unknown) => boolean): boolean {
  return Array.isArray(v) && v.length > 0 && v.every(test);
}

const isToken = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0;
/** A prompt or input: a string, strings, token ids, or lists of token ids. */
function isTextOrTokens(v: unknown): boolean {
  return (
    typeof v === 'string' ||
    arrayOf(v, (x) => typeof x === 'string') ||
    arrayOf(v, isToken) ||
    arrayOf(v, (x) => arrayOf(x, isToken))
  );
}

/** Validates a `/v1/completions` body. */
export function validateOpenaiCompletion(body: unknown): Checked<OpenaiCompletionRequest> {
  if (!isObject(body)) return fail('', 'the request body must be a JSON object');
  const common = commonProblem(body);
  if (common) return common;
  if (!isTextOrTokens(body.prompt))
    return fail('prompt', 'prompt: must be a string, an array of strings, or token ids');
  const problem = firstProblem([
    () => booleanField(body, 'echo'),
    () => numberField(body, 'best_of', { integer: true, min: 1 }),
    () => numberField(body, 'logprobs', { integer: true, min: 0, max: 5 }),
    () => stringField(body, 'suffix'),
  ]);
  return problem ?? { ok: true, value: body as OpenaiCompletionRequest };
}

/** Validates a `/v1/embeddings` body. */
export function validateOpenaiEmbedding(body: unknown): Checked<OpenaiEmbeddingRequest> {
  if (!isObject(body)) return fail('', 'the request body must be a JSON object');
  const problem = firstProblem([
    () => requiredString(body, 'model'),
    () =>
      isTextOrTokens(body.input)
        ? undefined
        : fail('input', 'input: must be a non-empty string, array of strings, or token ids'),
    () =>
      body.encoding_format === undefined ||
      body.encoding_format === 'float' ||
      body.encoding_format === 'base64'
        ? undefined
        : fail('encoding_format', "encoding_format: must be 'float' or 'base64'"),
    () => numberField(body, 'dimensions', { integer: true, min: 1 }),
    () => stringField(body, 'user'),
  ]);
  if (problem) return problem;
  if (body.input === '') return fail('input', 'input: must not be empty');
  return { ok: true, value: body as OpenaiEmbeddingRequest };
}
