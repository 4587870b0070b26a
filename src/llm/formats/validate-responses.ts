/**
 * Validates an OpenAI Responses API request (`POST /v1/responses`, openai-node's
 * `ResponseCreateParams`) before it is translated (responses-request.ts): the scalar fields, and
 * what luascale refuses because it keeps no server-side state or runs no tools of its own. Each
 * failure names its field, so the client gets OpenAI's 400 with `param` set.
 *
 * Refused: `previous_response_id` and `conversation` (they name state luascale does not keep: send
 * the whole conversation in `input`), `background: true` (a response to poll later is state too),
 * `prompt` (a stored prompt template), `text.format` other than `text` (structured output is not
 * translated). `store: true` is accepted and nothing is stored. Fields that only tune OpenAI's own
 * service (`include`, `truncation`, `service_tier`, `reasoning.summary`, `prompt_cache_key`,
 * `safety_identifier`, `stop`, …) are ignored; `reasoning.effort` is passed on (responses-request.ts).
 */
import { fail, isObject, type Checked, type JsonObject } from './checked.js';
import {
  booleanField,
  firstProblem,
  numberField,
  requiredString,
  stringField,
  type Problem,
} from './field-checks.js';

/** A field that names server-side state, with why it is refused. */
const STATEFUL: readonly [string, string][] = [
  ['previous_response_id', 'luascale keeps no responses (stateless): send the whole conversation in input'],
  ['conversation', 'luascale keeps no conversations (stateless): send the whole conversation in input'],
  ['prompt', 'stored prompt templates are not supported: send instructions and input'],
];

/** The checks of a Responses request's own fields (input and tools are checked as they are translated). */
export function validateResponsesFields(body: unknown): Checked<JsonObject> {
  if (!isObject(body)) return fail('body', 'body: must be a JSON object');
  const problem = firstProblem([
    () => requiredString(body, 'model'),
    () => refusedState(body),
    () => numberField(body, 'max_output_tokens', { integer: true, min: 1 }),
    () => numberField(body, 'temperature', { min: 0, max: 2 }),
    () => numberField(body, 'top_p', { min: 0, max: 1 }),
    () => booleanField(body, 'stream'),
    () => booleanField(body, 'store'),
    () => booleanField(body, 'parallel_tool_calls'),
    () => booleanField(body, 'background'),
    () =>
      body.background === true
        ? fail('background', 'background: luascale keeps no responses to poll')
        : undefined,
    () => stringField(body, 'user'),
    () => objectField(body, 'metadata'),
    () => instructionsProblem(body),
    () => textFormatProblem(body),
  ]);
  return problem ?? { ok: true, value: body };
}

function refusedState(body: JsonObject): Problem {
  for (const [key, why] of STATEFUL)
    if (body[key] !== undefined && body[key] !== null) return fail(key, `${key}: ${why}`);
  return undefined;
}

function objectField(body: JsonObject, key: string): Problem {
  const v = body[key];
  if (v === undefined || v === null || isObject(v)) return undefined;
  return fail(key, `${key}: must be an object`);
}

function instructionsProblem(body: JsonObject): Problem {
  const v = body.instructions;
  if (v === undefined || v === null || typeof v === 'string') return undefined;
  return fail('instructions', 'instructions: must be a string');
}

function textFormatProblem(body: JsonObject): Problem {
  const text = body.text;
  if (text === undefined || text === null) return undefined;
  if (!isObject(text)) return fail('text', 'text: must be an object');
  const format = text.format;
  if (format === undefined || format === null) return undefined;
  if (isObject(format) && format.type === 'text') return undefined;
  const type = isObject(format) ? String(format.type) : typeof format;
  return fail('text.format.type', `text.format.type: only 'text' is supported, got '${type}'`);
}
