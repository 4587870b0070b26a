/**
 * Token counting for llm-sim, and for the gateway that must count the same way: `gpt-tokenizer`'s
 * default encoding (o200k_base, GPT-4o's), offline with its data in the package. A chat prompt is
 * counted over one rendered text, {@link chatPromptText}, so a reader of the request can reproduce
 * `prompt_tokens` exactly without the server.
 */
import { createRequire } from 'node:module';

type Gpt = Pick<typeof import('gpt-tokenizer'), 'encode' | 'decode'>;
let gptTokenizer: Gpt | undefined;

/**
 * gpt-tokenizer, loaded on the first count (building its tables takes ~75 ms and tens of MB), then
 * reused: a module that imports this one (the gateway, the CLI) pays nothing until it counts. Loaded
 * with require (its CommonJS build, synchronous); the gateway's estimate.ts and prefix-index.ts count
 * through here too, so one process holds one copy of the tables.
 */
function gpt(): Gpt {
  return (gptTokenizer ??= createRequire(import.meta.url)('gpt-tokenizer') as Gpt);
}

/** The token ids of a text. */
export function encodeText(text: string): number[] {
  return gpt().encode(text);
}

/** The text of token ids. */
export function decodeTokens(tokens: number[]): string {
  return gpt().decode(tokens);
}

/** How many tokens a text has. */
export function countTokens(text: string): number {
  return text === '' ? 0 : gpt().encode(text).length;
}

/** One message as llm-sim reads it from either API: a role and its text. */
export interface PromptMessage {
  role: string;
  text: string;
}

/**
 * The text llm-sim counts for a chat: `role: text` lines, then `assistant:` (the turn to write).
 * Tools, when given, come first as one `tools: <JSON>` line. Not any real model's chat template:
 * the point is one documented rendering both sides can reproduce.
 */
export function chatPromptText(messages: PromptMessage[], tools?: unknown): string {
  const lines: string[] = [];
  if (tools !== undefined && tools !== null) lines.push(`tools: ${JSON.stringify(tools)}`);
  for (const m of messages) lines.push(`${m.role}: ${m.text}`);
  lines.push('assistant:');
  return lines.join('\n');
}
