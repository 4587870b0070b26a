/**
 * Token counting for llm-sim, and for the gateway that must count the same way: `gpt-tokenizer`'s
 * default encoding (o200k_base, GPT-4o's), offline with its data in the package. A chat prompt is
 * counted over one rendered text, {@link chatPromptText}, so a reader of the request can reproduce
 * `prompt_tokens` exactly without the server.
 */
import { encode, decode } from 'gpt-tokenizer';

/** The token ids of a text. */
export function encodeText(text: string): number[] {
  return encode(text);
}

/** The text of token ids. */
export function decodeTokens(tokens: number[]): string {
  return decode(tokens);
}

/** How many tokens a text has. */
export function countTokens(text: string): number {
  return text === '' ? 0 : encode(text).length;
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
