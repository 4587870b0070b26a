/**
 * One usage record for both APIs, and readers that take it from responses and streams.
 *
 * `input` counts ALL prompt tokens, cached or not; `cachedInput` (cache reads) and `cacheWrite`
 * are parts of it. `output` counts all generated tokens; `reasoning` is the part of it spent on
 * reasoning (OpenAI's `completion_tokens` includes `reasoning_tokens`; Anthropic counts thinking
 * in `output_tokens` and reports no split, so `reasoning` is 0 there).
 *
 * - OpenAI: `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`; no cache-write count.
 * - Anthropic: `input_tokens` EXCLUDES `cache_read_input_tokens` and
 *   `cache_creation_input_tokens`, so input = input_tokens + cache_read + cache_creation.
 *   In a stream, `message_start` carries the first counts and each `message_delta` carries
 *   CUMULATIVE counts (always `output_tokens`, sometimes the input fields too): the last value of
 *   each field wins; nothing is added up.
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import type { SseEvent } from './sse.js';

/** Token usage of one request, normalised across the two APIs. */
export interface Usage {
  /** All prompt tokens, including cached and cache-written ones. */
  input: number;
  /** Prompt tokens read from the provider's prompt cache. */
  cachedInput: number;
  /** Prompt tokens written to the provider's prompt cache (Anthropic only). */
  cacheWrite: number;
  /** All generated tokens, including reasoning. */
  output: number;
  /** Generated tokens spent on reasoning (OpenAI's `reasoning_tokens`). */
  reasoning: number;
}

/** A usage of zero tokens. */
export function emptyUsage(): Usage {
  return { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 };
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** Reads OpenAI's `usage` object (Chat Completions, Completions, Embeddings); undefined if absent. */
export function usageFromOpenai(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined;
  const prompt = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const completion = isObject(u.completion_tokens_details) ? u.completion_tokens_details : {};
  return {
    input: count(u.prompt_tokens),
    cachedInput: count(prompt.cached_tokens),
    cacheWrite: 0,
    output: count(u.completion_tokens),
    reasoning: count(completion.reasoning_tokens),
  };
}

/** Reads Anthropic's `usage` object (a message's, or `message_start`'s); undefined if absent. */
export function usageFromAnthropic(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined;
  const read = count(u.cache_read_input_tokens);
  const write = count(u.cache_creation_input_tokens);
  return {
    input: count(u.input_tokens) + read + write,
    cachedInput: read,
    cacheWrite: write,
    output: count(u.output_tokens),
    reasoning: 0,
  };
}

/** OpenAI's `usage` object for a usage (cache writes stay inside `prompt_tokens`). */
export function usageToOpenai(u: Usage): JsonObject {
  const out: JsonObject = {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cachedInput },
  };
  if (u.reasoning > 0) out.completion_tokens_details = { reasoning_tokens: u.reasoning };
  return out;
}

/** Anthropic's `usage` object for a usage (`input_tokens` without the cached parts). */
export function usageToAnthropic(u: Usage): JsonObject {
  return {
    input_tokens: Math.max(0, u.input - u.cachedInput - u.cacheWrite),
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cachedInput,
    output_tokens: u.output,
  };
}

/** What a usage reader has seen of a stream. */
export interface StreamUsage {
  /** The usage the stream reported, or undefined if it reported none (yet). */
  readonly usage: Usage | undefined;
  /** True once the stream's own end (`[DONE]` / `message_stop`) has been seen. */
  readonly complete: boolean;
}

/**
 * Reads usage from an OpenAI stream's events: the chunk with a non-null `usage` (the extra chunk
 * of `stream_options.include_usage`, or every chunk with vLLM's `continuous_usage_stats`: the
 * last one wins).
 */
export class OpenaiStreamUsage implements StreamUsage {
  usage: Usage | undefined;
  complete = false;

  /** Reads one event. */
  push(event: SseEvent): void {
    if (event.data === '[DONE]') {
      this.complete = true;
      return;
    }
    const chunk = tryParseJson(event.data);
    if (!isObject(chunk)) return;
    const usage = usageFromOpenai(chunk.usage);
    if (usage) this.usage = usage;
  }
}

/** The raw Anthropic usage fields; each later value replaces the earlier one. */
const ANTHROPIC_FIELDS = [
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
] as const;

/**
 * Reads usage from an Anthropic stream's events: `message_start`'s `message.usage`, then each
 * `message_delta`'s cumulative `usage`, field by field (a field a delta leaves out or sets to
 * null keeps its earlier value).
 */
export class AnthropicStreamUsage implements StreamUsage {
  complete = false;
  private raw: JsonObject | undefined;

  /** Reads one event. */
  push(event: SseEvent): void {
    const data = tryParseJson(event.data);
    if (!isObject(data)) return;
    if (data.type === 'message_start' && isObject(data.message)) this.merge(data.message.usage);
    else if (data.type === 'message_delta') this.merge(data.usage);
    else if (data.type === 'message_stop') this.complete = true;
  }

  get usage(): Usage | undefined {
    return this.raw === undefined ? undefined : usageFromAnthropic(this.raw);
  }

  private merge(u: unknown): void {
    if (!isObject(u)) return;
    const raw = this.raw ?? {};
    for (const f of ANTHROPIC_FIELDS) if (typeof u[f] === 'number') raw[f] = u[f];
    this.raw = raw;
  }
}
