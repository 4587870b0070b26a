/**
 * An Anthropic Messages stream (from a backend) as an OpenAI Chat Completions stream (to a
 * client). Feed it the backend's SSE events one by one; each `push` returns the client's events.
 *
 * Anthropic events → OpenAI chunks:
 * - `message_start` → the role chunk (`delta: {role: "assistant", content: ""}`);
 * - `text_delta` → `delta.content`;
 * - a `tool_use` block → `delta.tool_calls[{index, id, type, function: {name, arguments: ""}}]`
 *   (tool calls numbered from 0 in block order), its `input_json_delta`s →
 *   `delta.tool_calls[{index, function: {arguments}}]`;
 * - `thinking_delta` (and a thinking block's starting text) → `delta.reasoning_content`, the field
 *   vLLM and DeepSeek stream reasoning in; `signature_delta`, `redacted_thinking` and `ping` → nothing;
 * - `message_delta` → remembered (stop reason; usage is read cumulatively);
 * - `message_stop` → the finish chunk, the usage chunk (`choices: []`) when the client asked for
 *   `stream_options.include_usage` (then every chunk carries `usage: null`), and `[DONE]`;
 * - `event: error`, data that is not JSON, or the end of the bytes before `message_stop` (and
 *   before any `message_delta`) → `data: {"error": …}` and `[DONE]`.
 *
 * State: streaming → done (after `[DONE]`); nothing is emitted once done.
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import { openaiErrorEvents } from './errors.js';
import { jsonEvent, type SseEvent } from './sse.js';
import { stopReasonToFinish } from './stop-reasons.js';
import { completionFinish } from './completion-translation.js';
import { AnthropicStreamUsage, usageToOpenai } from './usage.js';

/** Options of `AnthropicToOpenaiStream`. */
export interface AnthropicToOpenaiStreamOptions {
  /** The client set `stream_options.include_usage`. */
  includeUsage: boolean;
  /** `created`, in Unix seconds, on every chunk. */
  created: number;
  /** The model name the client asked for (default: `message_start`'s). */
  model?: string;
  /**
   * The client called `/v1/completions`: `text_completion` chunks (`choices[0].text`, no role
   * chunk; tool calls and reasoning have no field there and are left out).
   */
  completions?: boolean;
}

/** Translates one Anthropic Messages stream into OpenAI chunks. */
export class AnthropicToOpenaiStream {
  private readonly options: AnthropicToOpenaiStreamOptions;
  private readonly usage = new AnthropicStreamUsage();
  private id: unknown = 'chatcmpl-luascale';
  private model: unknown;
  private started = false;
  private finished = false;
  private stop: unknown = undefined;
  /** Anthropic block index → OpenAI tool-call index. */
  private readonly tools = new Map<number, number>();

  constructor(options: AnthropicToOpenaiStreamOptions) {
    this.options = options;
    this.model = options.model;
  }

  /** True once the client's stream has ended (`[DONE]` sent). */
  get done(): boolean {
    return this.finished;
  }

  /** Translates one backend event. */
  push(event: SseEvent): SseEvent[] {
    if (this.finished) return [];
    const data = tryParseJson(event.data);
    if (!isObject(data)) return this.fail('the backend sent a stream event that is not JSON');
    this.usage.push(event);
    const out: SseEvent[] = [];
    if (!this.started && data.type !== 'error' && data.type !== 'ping') {
      if (data.type === 'message_start' && isObject(data.message)) {
        this.id = data.message.id ?? this.id;
        this.model ??= data.message.model;
      }
      this.started = true;
      if (!this.options.completions)
        out.push(
          this.chunk([
            { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
          ]),
        );
    }
    switch (data.type) {
      case 'content_block_start':
        this.blockStart(data, out);
        break;
      case 'content_block_delta':
        this.blockDelta(data, out);
        break;
      case 'message_delta':
        if (isObject(data.delta) && data.delta.stop_reason !== undefined) this.stop = data.delta.stop_reason;
        break;
      case 'message_stop':
        return [...out, ...this.complete()];
      case 'error': {
        const error = isObject(data.error) ? data.error : {};
        return this.fail(String(error.message ?? 'upstream error'), String(error.type ?? 'server_error'));
      }
    }
    return out;
  }

  /**
   * The backend's bytes ended. Without `message_stop` the stream was cut: an error and `[DONE]`,
   * unless a `message_delta` (the stop reason) already arrived.
   */
  end(): SseEvent[] {
    if (this.finished) return [];
    if (this.stop !== undefined) return this.complete();
    return this.fail('the backend stream ended before it was complete');
  }

  /** Ends the client's stream now with an error chunk and `[DONE]`. */
  fail(message: string, type = 'server_error'): SseEvent[] {
    if (this.finished) return [];
    this.finished = true;
    return openaiErrorEvents(message, { type });
  }

  private chunk(choices: unknown[], usage?: JsonObject): SseEvent {
    const chunk: JsonObject = {
      id: this.id,
      object: this.options.completions ? 'text_completion' : 'chat.completion.chunk',
      created: this.options.created,
      model: this.model,
      choices,
    };
    if (this.options.includeUsage) chunk.usage = usage ?? null;
    return jsonEvent(chunk);
  }

  private delta(delta: JsonObject): SseEvent {
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  /** Text for the client: a chat delta, or a completion's `text`. */
  private text(text: string): SseEvent {
    if (!this.options.completions) return this.delta({ content: text });
    return this.chunk([{ index: 0, text, logprobs: null, finish_reason: null }]);
  }

  private blockStart(data: JsonObject, out: SseEvent[]): void {
    const block = isObject(data.content_block) ? data.content_block : {};
    const index = typeof data.index === 'number' ? data.index : 0;
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '')
      out.push(this.text(block.text));
    if (this.options.completions) return;
    if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking !== '')
      out.push(this.delta({ reasoning_content: block.thinking }));
    if (block.type !== 'tool_use') return;
    const k = this.tools.size;
    this.tools.set(index, k);
    const call = { index: k, id: block.id, type: 'function', function: { name: block.name, arguments: '' } };
    out.push(this.delta({ tool_calls: [call] }));
  }

  private blockDelta(data: JsonObject, out: SseEvent[]): void {
    const delta = isObject(data.delta) ? data.delta : {};
    if (delta.type === 'text_delta' && typeof delta.text === 'string') out.push(this.text(delta.text));
    if (this.options.completions) return;
    if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string' && delta.thinking !== '')
      out.push(this.delta({ reasoning_content: delta.thinking }));
    if (
      delta.type !== 'input_json_delta' ||
      typeof delta.partial_json !== 'string' ||
      delta.partial_json === ''
    )
      return;
    const k = this.tools.get(typeof data.index === 'number' ? data.index : 0);
    if (k === undefined) return;
    out.push(this.delta({ tool_calls: [{ index: k, function: { arguments: delta.partial_json } }] }));
  }

  private complete(): SseEvent[] {
    this.finished = true;
    const out = [
      this.options.completions
        ? this.chunk([{ index: 0, text: '', logprobs: null, finish_reason: completionFinish(this.stop) }])
        : this.chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: stopReasonToFinish(this.stop) }]),
    ];
    if (this.options.includeUsage) {
      const usage = this.usage.usage;
      out.push(this.chunk([], usage ? usageToOpenai(usage) : undefined));
    }
    out.push({ data: '[DONE]' });
    return out;
  }
}
