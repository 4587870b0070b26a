/**
 * The request and result llm-sim works on, whatever API it came in: each format module parses its
 * body into a {@link SimRequest} and renders a {@link SimCompletion} back.
 */
import type { SimTool, SimToolCall } from './tool-call.js';

/** Which endpoint a request came to. */
export type SimApi = 'chat' | 'completions' | 'messages' | 'embeddings';

/** A parsed generation request. */
export interface SimRequest {
  api: SimApi;
  model: string;
  /** The text the prompt tokens are counted over (tokenizer.ts). */
  prompt: string;
  /** The text echo mode repeats: the last message, or the prompt. */
  echoText: string;
  /** The request's output limit; undefined = up to the model length. */
  maxTokens: number | undefined;
  stop: string[];
  stream: boolean;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  /** The most reasoning tokens the request allows (Anthropic `thinking.budget_tokens`); absent = no cap, 0 = none. */
  reasoningCap?: number;
  /** The tool to call instead of answering with text (tool-call.ts); absent = text. */
  tool?: SimTool;
}

/** A refusal in the format's own error shape, before any generation. */
export interface SimError {
  status: number;
  /** OpenAI `error.type` / Anthropic `error.type`. */
  type: string;
  message: string;
  param: string | null;
  code: string | null;
}

/** A body that parsed, or why not. */
export type ParseResult = { ok: true; request: SimRequest } | { ok: false; error: SimError };

/** What a finished (or cut) generation reports. */
export interface SimCompletion {
  id: string;
  model: string;
  /** Unix seconds. */
  created: number;
  text: string;
  /** `tool_calls` when the completion is a call (its arguments in `text`). */
  finishReason: 'stop' | 'length' | 'tool_calls';
  stopSequence: string | null;
  promptTokens: number;
  cachedTokens: number;
  /** All generated tokens, reasoning included (as both APIs count them). */
  completionTokens: number;
  /** The reasoning text, before the answer ('' without reasoning). */
  reasoning?: string;
  /** How many of `completionTokens` were reasoning (absent = 0). */
  reasoningTokens?: number;
  /** The tool call this completion makes; `text` holds its arguments JSON as sent so far. */
  toolCall?: SimToolCall;
}

/** A 400 about one field, in OpenAI's wording. */
export function invalid(param: string | null, message: string): { ok: false; error: SimError } {
  return {
    ok: false,
    error: { status: 400, type: 'invalid_request_error', message, param, code: null },
  };
}

/** Is it a plain object? */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
