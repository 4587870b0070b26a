/**
 * Tool calls: a request that offers tools (OpenAI `tools` of type `function`, Anthropic `tools`
 * with `input_schema`) and does not forbid them (`tool_choice` "none") is answered with one call
 * instead of text, unless it carries a tool result since the last assistant turn (OpenAI a `tool`
 * message, Anthropic a `tool_result` block in the last message), which is answered with text. The call goes to the tool `tool_choice` names,
 * else the first; its arguments hold the schema's required properties only, each drawn from
 * `--seed` and the prompt (strings of words, integers 0–99, numbers with two decimals, booleans,
 * an enum's values, one-item arrays, nested objects), so the same request gets the same call. The
 * arguments JSON is streamed one token per chunk and counts as the output tokens.
 */
import { createHash } from 'node:crypto';
import { decodeTokens, encodeText } from './tokenizer.js';
import { hashSeed, seededRandom, type Random } from './random.js';
import { randomWord } from './text-generator.js';
import { invalid, isObject, type SimError } from './sim-request.js';

/** The tool a request asks to be called: its name and JSON schema. */
export interface SimTool {
  name: string;
  schema: unknown;
}

/** The call llm-sim makes. */
export interface SimToolCall {
  /** `call_…` (OpenAI) or `toolu_…` (Anthropic), deterministic from the seed and prompt. */
  id: string;
  name: string;
  /** The arguments JSON, as sent. */
  arguments: string;
}

/** The tool to call, none (text), or why the request is refused. */
export type ToolPick = { tool: SimTool | undefined } | { error: SimError };

/** The tool an OpenAI chat body asks for (`tools[].function`, `tool_choice`). */
export function pickOpenAiTool(body: Record<string, unknown>): ToolPick {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return { tool: undefined };
  // a tool result since the last assistant turn (user text may follow it: an Anthropic user turn
  // of tool_result and text blocks translates to a tool message and a user message)
  for (const m of [...(body.messages as unknown[])].reverse()) {
    if (!isObject(m) || m.role === 'assistant') break;
    if (m.role === 'tool') return { tool: undefined };
  }
  const tools: SimTool[] = [];
  for (const t of body.tools) {
    if (isObject(t) && t.type === 'function' && isObject(t.function) && typeof t.function.name === 'string')
      tools.push({ name: t.function.name, schema: t.function.parameters });
  }
  const choice = body.tool_choice;
  if (choice === 'none' || tools.length === 0) return { tool: undefined };
  const named = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  return chosen(tools, named, 'tool_choice');
}

/** The tool an Anthropic Messages body asks for (`tools[].input_schema`, `tool_choice`). */
export function pickAnthropicTool(body: Record<string, unknown>): ToolPick {
  const messages = body.messages as unknown[];
  const last = messages[messages.length - 1];
  if (!Array.isArray(body.tools) || body.tools.length === 0) return { tool: undefined };
  if (
    isObject(last) &&
    Array.isArray(last.content) &&
    last.content.some((b) => isObject(b) && b.type === 'tool_result')
  )
    return { tool: undefined };
  const tools: SimTool[] = [];
  for (const t of body.tools) {
    if (isObject(t) && typeof t.name === 'string' && isObject(t.input_schema))
      tools.push({ name: t.name, schema: t.input_schema });
  }
  const choice = body.tool_choice;
  if ((isObject(choice) && choice.type === 'none') || tools.length === 0) return { tool: undefined };
  const named = isObject(choice) && choice.type === 'tool' ? choice.name : undefined;
  return chosen(tools, named, 'tool_choice.name');
}

function chosen(tools: SimTool[], named: unknown, param: string): ToolPick {
  if (named === undefined) return { tool: tools[0] };
  const tool = tools.find((t) => t.name === named);
  if (!tool) return { error: invalid(param, `${param}: no tool named ${JSON.stringify(named)}`).error };
  return { tool };
}

/** The deterministic call for a tool, given the server's seed and the rendered prompt. */
export function makeToolCall(tool: SimTool, seed: number, prompt: string, idPrefix: string): SimToolCall {
  const random = seededRandom(hashSeed(seed, prompt, 'tool', tool.name));
  const id = createHash('sha256').update(`${seed}\u0000${prompt}`).digest('hex').slice(0, 24);
  return {
    id: `${idPrefix}${id}`,
    name: tool.name,
    arguments: JSON.stringify(objectFor(tool.schema, random, 0)),
  };
}

const MAX_DEPTH = 4;

function objectFor(schema: unknown, random: Random, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObject(schema) || !Array.isArray(schema.required) || depth > MAX_DEPTH) return out;
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const name of schema.required) {
    if (typeof name === 'string') out[name] = valueFor(properties[name], random, depth + 1);
  }
  return out;
}

function valueFor(schema: unknown, random: Random, depth: number): unknown {
  if (!isObject(schema)) return randomWord(random);
  if (Array.isArray(schema.enum) && schema.enum.length > 0)
    return schema.enum[Math.floor(random() * schema.enum.length)];
  if (schema.const !== undefined) return schema.const;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type = types.find((t) => t !== 'null') ?? 'string';
  switch (type) {
    case 'integer':
      return Math.floor(random() * 100);
    case 'number':
      return Math.round(random() * 10000) / 100;
    case 'boolean':
      return random() < 0.5;
    case 'array':
      return depth > MAX_DEPTH ? [] : [valueFor(schema.items, random, depth + 1)];
    case 'object':
      return objectFor(schema, random, depth);
    default:
      return `${randomWord(random)} ${randomWord(random)}`;
  }
}

/** The arguments as one piece per token, joining back to the JSON exactly. */
export function argumentPieces(json: string): string[] {
  const pieces = encodeText(json).map((t) => decodeTokens([t]));
  if (pieces.join('') === json) return pieces;
  // a token boundary inside a multi-byte character: the whole text goes with the last token
  return pieces.map((_, i) => (i === pieces.length - 1 ? json : ''));
}
