/**
 * An OpenAI Chat Completions stream (from a backend) as an Anthropic Messages stream (to a
 * client). Feed it the backend's SSE events one by one; each `push` returns the client's events.
 *
 * OpenAI chunks → Anthropic events:
 * - the first chunk → `message_start` (usage: the `inputTokens` estimate, corrected at the end);
 * - `delta.reasoning_content` (or `delta.reasoning`, vLLM's and DeepSeek's fields) → a thinking
 *   block (`signature: ""`, luascale has none to give) of `thinking_delta`s;
 * - `delta.content` → a text block: `content_block_start` once, then `text_delta`s;
 * - `delta.tool_calls[k]` with an `id` → a new `tool_use` block (the open block is stopped
 *   first); its `function.arguments` fragments → `input_json_delta`s on that block;
 * - `finish_reason` and the `include_usage` chunk are remembered; `[DONE]` →
 *   `content_block_stop`, `message_delta` (stop reason, full cumulative usage), `message_stop`.
 * - a `data: {"error": …}` chunk, a chunk that is not JSON, or the end of the bytes before
 *   `[DONE]` (and before any `finish_reason`) → `event: error`: never a silent truncation.
 *
 * State: streaming → done (after `message_stop` or `error`); nothing is emitted once done.
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import { anthropicErrorEvent, errorMessageOf } from './errors.js';
import { jsonEvent, type SseEvent } from './sse.js';
import { reasoningOf } from './chat-response.js';
import { finishToStopReason } from './stop-reasons.js';
import { usageFromOpenai, usageToAnthropic, type Usage } from './usage.js';

/** Options of `OpenaiToAnthropicStream`. */
export interface OpenaiToAnthropicStreamOptions {
  /** `input_tokens` for `message_start`, before the backend reports usage (a tokenizer count). */
  inputTokens?: number;
  /** The model name the client asked for (default: the chunks' `model`). */
  model?: string;
}

/** Translates one OpenAI chat stream into Anthropic events. */
export class OpenaiToAnthropicStream {
  private readonly options: OpenaiToAnthropicStreamOptions;
  private started = false;
  private finished = false;
  /** The index of the open content block, -1 when none is open. */
  private open = -1;
  private openKind: 'text' | 'thinking' | 'tool' | undefined;
  private nextIndex = 0;
  /** OpenAI tool-call index → Anthropic block index. */
  private readonly toolBlocks = new Map<number, number>();
  private finish: unknown = undefined;
  private reported: Usage | undefined;

  constructor(options: OpenaiToAnthropicStreamOptions = {}) {
    this.options = options;
  }

  /** True once the client's stream has ended (`message_stop` or `error` sent). */
  get done(): boolean {
    return this.finished;
  }

  /** Translates one backend event. */
  push(event: SseEvent): SseEvent[] {
    if (this.finished) return [];
    if (event.data === '[DONE]') return this.complete();
    const chunk = tryParseJson(event.data);
    if (!isObject(chunk)) return this.fail('the backend sent a stream chunk that is not JSON');
    if (chunk.error !== undefined && chunk.error !== null) return this.fail(errorMessageOf(chunk));
    const out: SseEvent[] = [];
    if (!this.started) out.push(this.messageStart(chunk));
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((c) => isObject(c) && (c.index ?? 0) === 0)
      : undefined;
    if (isObject(choice)) this.choice(choice, out);
    const usage = usageFromOpenai(chunk.usage);
    if (usage) this.reported = usage;
    return out;
  }

  /**
   * The backend's bytes ended. Without `[DONE]` the stream was cut: an error event, unless a
   * `finish_reason` already arrived (the answer is whole; only the usage chunk may be missing).
   */
  end(): SseEvent[] {
    if (this.finished) return [];
    if (this.finish !== undefined) return this.complete();
    return this.fail('the backend stream ended before it was complete');
  }

  /** Ends the client's stream now with an error event (a timeout, a cut, a malformed chunk). */
  fail(message: string, type = 'api_error'): SseEvent[] {
    if (this.finished) return [];
    this.finished = true;
    return [anthropicErrorEvent(message, type)];
  }

  private messageStart(chunk: JsonObject): SseEvent {
    this.started = true;
    const message = {
      id: chunk.id ?? 'msg_luascale',
      type: 'message',
      role: 'assistant',
      model: this.options.model ?? chunk.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: this.options.inputTokens ?? 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 0,
      },
    };
    return jsonEvent({ type: 'message_start', message }, 'message_start');
  }

  private choice(choice: JsonObject, out: SseEvent[]): void {
    const delta = isObject(choice.delta) ? choice.delta : {};
    const thinking = reasoningOf(delta);
    if (thinking !== '') {
      if (this.openKind !== 'thinking')
        this.startBlock({ type: 'thinking', thinking: '', signature: '' }, out);
      out.push(this.delta(this.open, { type: 'thinking_delta', thinking }));
    }
    const text =
      typeof delta.content === 'string'
        ? delta.content
        : typeof delta.refusal === 'string'
          ? delta.refusal
          : '';
    if (text !== '') {
      if (this.openKind !== 'text') this.startBlock({ type: 'text', text: '' }, out);
      out.push(this.delta(this.open, { type: 'text_delta', text }));
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (isObject(call)) this.toolCall(call, out);
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null)
      this.finish = choice.finish_reason;
  }

  private toolCall(call: JsonObject, out: SseEvent[]): void {
    const k = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let index = this.toolBlocks.get(k);
    if (index === undefined) {
      const block = { type: 'tool_use', id: call.id ?? `toolu_${k}`, name: fn.name ?? '', input: {} };
      index = this.startBlock(block, out);
      this.openKind = 'tool';
      this.toolBlocks.set(k, index);
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '')
      out.push(this.delta(index, { type: 'input_json_delta', partial_json: fn.arguments }));
  }

  private startBlock(block: JsonObject, out: SseEvent[]): number {
    this.stopBlock(out);
    this.open = this.nextIndex++;
    this.openKind = block.type === 'text' || block.type === 'thinking' ? block.type : 'tool';
    out.push(
      jsonEvent(
        { type: 'content_block_start', index: this.open, content_block: block },
        'content_block_start',
      ),
    );
    return this.open;
  }

  private stopBlock(out: SseEvent[]): void {
    if (this.open < 0) return;
    out.push(jsonEvent({ type: 'content_block_stop', index: this.open }, 'content_block_stop'));
    this.open = -1;
    this.openKind = undefined;
  }

  private delta(index: number, delta: JsonObject): SseEvent {
    return jsonEvent({ type: 'content_block_delta', index, delta }, 'content_block_delta');
  }

  private complete(): SseEvent[] {
    const out: SseEvent[] = [];
    if (!this.started) out.push(this.messageStart({}));
    this.stopBlock(out);
    const usage = this.reported ? usageToAnthropic(this.reported) : { output_tokens: 0 };
    out.push(
      jsonEvent(
        {
          type: 'message_delta',
          delta: { stop_reason: finishToStopReason(this.finish), stop_sequence: null },
          usage,
        },
        'message_delta',
      ),
      jsonEvent({ type: 'message_stop' }, 'message_stop'),
    );
    this.finished = true;
    return out;
  }
}
