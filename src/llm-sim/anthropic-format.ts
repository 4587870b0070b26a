/**
 * Anthropic's Messages format (the API reference and anthropic-sdk's types): request parsing, the
 * response object, stream events and errors.
 *
 * A stream is `event: NAME` / `data: {json}` pairs: message_start (its usage has input_tokens and
 * output_tokens 1), content_block_start, ping, content_block_delta per token, content_block_stop,
 * message_delta (stop_reason and the **cumulative** usage), message_stop. llm-sim's prefix-cache
 * hits are reported as `cache_read_input_tokens`, and, as Anthropic does, `input_tokens` excludes
 * them: total input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens.
 *
 * A tool call (tool-call.ts) is one `tool_use` block `{id, name, input}` with stop_reason
 * `tool_use`; streamed, content_block_start carries the block with `input: {}` and each
 * content_block_delta an `input_json_delta` with one token of the JSON as `partial_json`.
 */
import { createHash } from 'node:crypto';
import { chatPromptText, type PromptMessage } from './tokenizer.js';
import { invalid, isObject, type ParseResult, type SimCompletion, type SimError } from './sim-request.js';
import { pickAnthropicTool, type SimToolCall } from './tool-call.js';

/** The text of a content value: a string or blocks (text; tool_use and tool_result as JSON). */
function blocksText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const block of content) {
    if (!isObject(block) || typeof block.type !== 'string') return undefined;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_result')
      texts.push(blocksText(block.content) ?? JSON.stringify(block.content));
    else if (block.type === 'tool_use') texts.push(JSON.stringify({ name: block.name, input: block.input }));
  }
  return texts.join('\n');
}

/** Parses a `/v1/messages` body. */
export function parseMessagesRequest(body: unknown): ParseResult {
  if (!isObject(body)) return invalid(null, 'the request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') return invalid('model', 'model: Field required');
  if (!(Number.isInteger(body.max_tokens) && (body.max_tokens as number) >= 1))
    return invalid('max_tokens', 'max_tokens: Field required (an integer >= 1)');
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return invalid('messages', 'messages: at least one message is required');
  const messages: PromptMessage[] = [];
  if (body.system !== undefined) {
    const system = blocksText(body.system);
    if (system === undefined) return invalid('system', 'system: must be a string or text blocks');
    messages.push({ role: 'system', text: system });
  }
  for (const [i, m] of body.messages.entries()) {
    if (!isObject(m) || (m.role !== 'user' && m.role !== 'assistant'))
      return invalid(`messages.${i}.role`, `messages.${i}.role: Input should be 'user' or 'assistant'`);
    const text = blocksText(m.content);
    if (text === undefined) return invalid(`messages.${i}.content`, `messages.${i}.content: invalid content`);
    messages.push({ role: m.role, text });
  }
  let stop: string[] = [];
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === 'string'))
      return invalid('stop_sequences', 'stop_sequences: must be an array of strings');
    stop = body.stop_sequences as string[];
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    return invalid('stream', 'stream: must be a boolean');
  const pick = pickAnthropicTool(body);
  if ('error' in pick) return { ok: false, error: pick.error };
  return {
    ok: true,
    request: {
      api: 'messages',
      model: body.model,
      prompt: chatPromptText(messages, body.tools),
      echoText: messages[messages.length - 1]!.text,
      maxTokens: body.max_tokens as number,
      stop,
      stream: body.stream === true,
      includeUsage: true,
      // Anthropic thinks only when asked to, within the budget
      reasoningCap:
        isObject(body.thinking) &&
        body.thinking.type === 'enabled' &&
        typeof body.thinking.budget_tokens === 'number'
          ? body.thinking.budget_tokens
          : 0,
      ...(pick.tool ? { tool: pick.tool } : {}),
    },
  };
}

/** Anthropic's stop_reason for a completion. */
export function stopReason(c: SimCompletion): 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' {
  if (c.stopSequence !== null) return 'stop_sequence';
  if (c.finishReason === 'length') return 'max_tokens';
  return c.toolCall ? 'tool_use' : 'end_turn';
}

function usage(c: Pick<SimCompletion, 'promptTokens' | 'cachedTokens'>, outputTokens: number) {
  return {
    input_tokens: c.promptTokens - c.cachedTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: c.cachedTokens,
    output_tokens: outputTokens,
  };
}

/** The non-streaming response. */
export function anthropicResponse(c: SimCompletion): Record<string, unknown> {
  return {
    id: c.id,
    type: 'message',
    role: 'assistant',
    model: c.model,
    content: [
      ...((c.reasoningTokens ?? 0) > 0
        ? [{ type: 'thinking', thinking: c.reasoning ?? '', signature: signature(c.reasoning ?? '') }]
        : []),
      c.toolCall ? toolUseBlock(c.toolCall, c.text) : { type: 'text', text: c.text },
    ],
    stop_reason: stopReason(c),
    stop_sequence: c.stopSequence,
    usage: usage(c, c.completionTokens),
  };
}

/** The `tool_use` block; arguments cut short by max_tokens give `input: {}`. */
function toolUseBlock(call: SimToolCall, json: string): Record<string, unknown> {
  let input: unknown = {};
  try {
    input = JSON.parse(json);
  } catch {
    // cut by max_tokens
  }
  return { type: 'tool_use', id: call.id, name: call.name, input };
}

/** A stand-in for Anthropic's opaque thinking signature: deterministic from the thinking text. */
export function signature(thinking: string): string {
  return createHash('sha256').update(thinking).digest('base64');
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Builds the SSE events of one Messages stream. */
export class AnthropicStream {
  private readonly head: { id: string; model: string };
  private readonly toolCall: SimToolCall | undefined;
  /** The open block: 0, or 1 once a thinking block (0) gave way to the text. */
  private index = 0;
  private thinking = false;
  private thought = '';

  constructor(head: { id: string; model: string; toolCall?: SimToolCall }) {
    this.head = head;
    this.toolCall = head.toolCall;
  }

  /** message_start, content_block_start and a ping: sent when the first token is ready. */
  start(prompt: { promptTokens: number; cachedTokens: number }, thinking = false): string {
    this.thinking = thinking;
    const message = {
      id: this.head.id,
      type: 'message',
      role: 'assistant',
      model: this.head.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usage(prompt, 1),
    };
    return (
      event('message_start', { type: 'message_start', message }) +
      event('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: this.toolCall
          ? { type: 'tool_use', id: this.toolCall.id, name: this.toolCall.name, input: {} }
          : thinking
            ? { type: 'thinking', thinking: '', signature: '' }
            : { type: 'text', text: '' },
      }) +
      event('ping', { type: 'ping' })
    );
  }

  /** One thinking delta (the stream started with a thinking block). */
  reasoning(text: string): string {
    this.thought += text;
    return event('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'thinking_delta', thinking: text },
    });
  }

  /** One text delta; the first after thinking closes the thinking block (signature_delta, stop) and opens the text block. */
  content(text: string): string {
    if (this.toolCall)
      return event('content_block_delta', {
        type: 'content_block_delta',
        index: this.index,
        delta: { type: 'input_json_delta', partial_json: text },
      });
    let out = '';
    if (this.thinking) {
      this.thinking = false;
      out +=
        event('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'signature_delta', signature: signature(this.thought) },
        }) +
        event('content_block_stop', { type: 'content_block_stop', index: 0 }) +
        event('content_block_start', {
          type: 'content_block_start',
          index: ++this.index,
          content_block: { type: 'text', text: '' },
        });
    }
    return (
      out +
      event('content_block_delta', {
        type: 'content_block_delta',
        index: this.index,
        delta: { type: 'text_delta', text },
      })
    );
  }

  /** An event whose data is not JSON (fault injection). */
  malformed(): string {
    return `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":\n\n`;
  }

  /** content_block_stop, message_delta with the cumulative usage, message_stop. */
  end(c: SimCompletion): string {
    return (
      event('content_block_stop', { type: 'content_block_stop', index: this.index }) +
      event('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReason(c), stop_sequence: c.stopSequence },
        usage: usage(c, c.completionTokens),
      }) +
      event('message_stop', { type: 'message_stop' })
    );
  }
}

/** Anthropic's error types by HTTP status. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

/** Anthropic's error body: `{type: "error", error: {type, message}}`. */
export function anthropicError(e: SimError): Record<string, unknown> {
  return { type: 'error', error: { type: anthropicErrorType(e.status), message: e.message } };
}

/** An error event inside a stream. */
export function anthropicErrorEvent(e: SimError): string {
  return event('error', anthropicError(e));
}

/** Anthropic's `/v1/models` list. */
export function anthropicModels(models: string[], createdAt: string): Record<string, unknown> {
  return {
    data: models.map((id) => ({ type: 'model', id, display_name: id, created_at: createdAt })),
    has_more: false,
    first_id: models[0] ?? null,
    last_id: models[models.length - 1] ?? null,
  };
}
