/**
 * The request shapes the validators accept and the translators read and write: OpenAI's Chat
 * Completions (openai-node's `ChatCompletionCreateParams`) and Anthropic's Messages
 * (`MessageCreateParams`). Only the fields luascale reads are named; others pass through.
 */
import type { JsonObject } from './checked.js';

/** One part of an OpenAI message's array `content`. */
export interface OpenaiContentPart {
  type: string;
  text?: string;
  refusal?: string;
  image_url?: { url: string; detail?: string };
  [key: string]: unknown;
}

/** An assistant message's tool call (`type: "function"`). */
export interface OpenaiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One Chat Completions message. */
export interface OpenaiMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | OpenaiContentPart[] | null;
  name?: string;
  tool_calls?: OpenaiToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
  [key: string]: unknown;
}

/** A function tool. */
export interface OpenaiTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: JsonObject; strict?: boolean | null };
}

/** `tool_choice`. */
export type OpenaiToolChoice =
  'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** A `/v1/chat/completions` body. */
export interface OpenaiChatRequest {
  model: string;
  messages: OpenaiMessage[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  tools?: OpenaiTool[];
  tool_choice?: OpenaiToolChoice;
  parallel_tool_calls?: boolean;
  user?: string;
  [key: string]: unknown;
}

/** A `/v1/completions` body. */
export interface OpenaiCompletionRequest {
  model: string;
  prompt: string | string[] | number[] | number[][];
  max_tokens?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  [key: string]: unknown;
}

/** A `/v1/embeddings` body. */
export interface OpenaiEmbeddingRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  [key: string]: unknown;
}

/** One Anthropic content block (text, image, document, tool_use, tool_result, thinking, …). */
export interface AnthropicBlock {
  type: string;
  [key: string]: unknown;
}

/** One Messages turn. */
export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | AnthropicBlock[];
}

/** A client tool (`input_schema`); server tools carry a versioned `type` instead. */
export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: JsonObject;
  type?: string;
  [key: string]: unknown;
}

/** `tool_choice`. */
export type AnthropicToolChoice =
  | { type: 'auto' | 'any' | 'none'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };

/** A `/v1/messages` body. */
export interface AnthropicMessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string | AnthropicBlock[];
  stop_sequences?: string[];
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id?: string | null };
  [key: string]: unknown;
}
