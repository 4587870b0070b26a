/**
 * A Chat Completions stream (from a backend, or translated from an Anthropic one) as an OpenAI
 * Responses API stream: named SSE events (`event: response.output_text.delta`), each with a
 * `sequence_number` counting from 0, in the order openai-node's ResponseStream accumulates them:
 *
 * - the first chunk → `response.created`, `response.in_progress` (status `in_progress`, no output);
 * - the first reasoning delta (`reasoning_content` or `reasoning`, chat-response.ts) →
 *   `response.output_item.added` (a `reasoning` item) and `response.content_part.added` (an empty
 *   `reasoning_text`), then each → `response.reasoning_text.delta` (vLLM's events for reasoning
 *   models; closed with `response.reasoning_text.done`);
 * - the first `delta.content` → `response.output_item.added` (a `message` item) and
 *   `response.content_part.added` (an empty `output_text`), then each delta →
 *   `response.output_text.delta`;
 * - a new `delta.tool_calls[k]` (id and name) → `response.output_item.added` (a `function_call`
 *   item), its argument pieces → `response.function_call_arguments.delta`;
 * - `[DONE]` (or `end`) → each open item closed in output order (`response.output_text.done`,
 *   `response.content_part.done`, `response.output_item.done`; `response.function_call_arguments.done`,
 *   `response.output_item.done`), then `response.completed` with the whole response and its usage
 *   (`response.incomplete` when the finish reason was `length`);
 * - an error chunk, or `failEvents` (a cut stream, a malformed chunk) → `error` and
 *   `response.failed` (its response carries what was produced, items `incomplete`).
 *
 * State: waiting → streaming (after response.created) → done; nothing is emitted once done.
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import {
  functionCallItem,
  functionItemId,
  messageItem,
  messageItemId,
  reasoningItem,
  reasoningItemId,
  responseObject,
  type ResponseShell,
} from './responses-response.js';
import { reasoningOf } from './chat-response.js';
import { jsonEvent, type SseEvent } from './sse.js';
import { usageFromOpenai, type Usage } from './usage.js';

/** Options of `ChatToResponsesStream`. */
export interface ChatToResponsesStreamOptions {
  /** The client's Responses request (echoed in the response objects). */
  request: JsonObject;
  /** Unix seconds. */
  created: number;
}

interface OpenItem {
  kind: 'reasoning' | 'message' | 'function_call';
  outputIndex: number;
  id: string;
  text: string;
  callId?: unknown;
  name?: unknown;
}

/** Translates one Chat Completions stream into Responses API events. */
export class ChatToResponsesStream {
  private seq = 0;
  private shell: ResponseShell | undefined;
  private readonly items: OpenItem[] = [];
  private message: OpenItem | undefined;
  private reasoning: OpenItem | undefined;
  /** Tool call index → its item. */
  private readonly calls = new Map<number, OpenItem>();
  private usage: Usage | undefined;
  private finish: unknown;
  private finished = false;

  constructor(private readonly options: ChatToResponsesStreamOptions) {}

  /** True once the stream has ended (completed, incomplete or failed). */
  get done(): boolean {
    return this.finished;
  }

  /** Translates one backend chunk. */
  push(event: SseEvent): SseEvent[] {
    if (this.finished) return [];
    if (event.data === '[DONE]') return this.end();
    const chunk = tryParseJson(event.data);
    if (!isObject(chunk)) return this.failEvents('the backend sent a stream event that is not JSON');
    if (chunk.error !== undefined) {
      const e = isObject(chunk.error) ? chunk.error : {};
      return this.failEvents(typeof e.message === 'string' ? e.message : 'upstream error');
    }
    const out = this.start(chunk.id);
    const u = usageFromOpenai(chunk.usage);
    if (u !== undefined) this.usage = u;
    const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : undefined;
    if (choice === undefined) return out;
    const delta = isObject(choice.delta) ? choice.delta : {};
    const thought = reasoningOf(delta);
    if (thought !== '') this.thought(thought, out);
    if (typeof delta.content === 'string' && delta.content !== '') this.text(delta.content, out);
    if (Array.isArray(delta.tool_calls))
      for (const tc of delta.tool_calls) if (isObject(tc)) this.toolCall(tc, out);
    if (choice.finish_reason !== undefined && choice.finish_reason !== null)
      this.finish = choice.finish_reason;
    return out;
  }

  /** The backend's stream ended whole: open items closed, then `response.completed` (or `.incomplete`). */
  end(): SseEvent[] {
    if (this.finished) return [];
    const out = this.start(undefined);
    this.finished = true;
    const output: JsonObject[] = [];
    const incomplete = this.finish === 'length';
    for (const [i, item] of this.items.entries()) {
      // The item being written when the limit cut it is incomplete, as OpenAI reports it.
      const cut = incomplete && i === this.items.length - 1;
      const done = this.itemDone(item, cut ? 'incomplete' : 'completed');
      output.push(done);
      this.close(item, done, out);
    }
    const type = incomplete ? 'response.incomplete' : 'response.completed';
    const response = responseObject(this.shell!, {
      status: incomplete ? 'incomplete' : 'completed',
      incomplete,
      output,
      ...(this.usage ? { usage: this.usage } : {}),
    });
    out.push(this.event(type, { response }));
    return out;
  }

  /** Ends the stream now with an `error` event and `response.failed` (what was produced kept, incomplete). */
  failEvents(message: string): SseEvent[] {
    if (this.finished) return [];
    const out = this.start(undefined);
    this.finished = true;
    const error = { code: 'server_error', message };
    out.push(this.event('error', { code: 'server_error', message, param: null }));
    const output = this.items.map((item) => this.itemDone(item, 'incomplete'));
    const response = responseObject(this.shell!, {
      status: 'failed',
      output,
      error,
      ...(this.usage ? { usage: this.usage } : {}),
    });
    out.push(this.event('response.failed', { response }));
    return out;
  }

  /** `response.created` and `response.in_progress`, once, before anything else. */
  private start(sourceId: unknown): SseEvent[] {
    if (this.shell !== undefined) return [];
    this.shell = { request: this.options.request, sourceId, created: this.options.created };
    const response = responseObject(this.shell, { status: 'in_progress', output: [] });
    return [this.event('response.created', { response }), this.event('response.in_progress', { response })];
  }

  private thought(delta: string, out: SseEvent[]): void {
    this.reasoning ??= this.openPart('reasoning', reasoningItemId(this.shell!.sourceId), out);
    this.partDelta(this.reasoning, delta, out);
  }

  private text(delta: string, out: SseEvent[]): void {
    this.message ??= this.openPart('message', messageItemId(this.shell!.sourceId), out);
    this.partDelta(this.message, delta, out);
  }

  /** Opens a reasoning or message item with its one (empty) text part. */
  private openPart(kind: 'reasoning' | 'message', id: string, out: SseEvent[]): OpenItem {
    const m: OpenItem = { kind, outputIndex: this.items.length, id, text: '' };
    this.items.push(m);
    const item = { ...this.itemDone(m, 'in_progress'), content: [] };
    out.push(this.event('response.output_item.added', { output_index: m.outputIndex, item }));
    out.push(
      this.event('response.content_part.added', {
        item_id: m.id,
        output_index: m.outputIndex,
        content_index: 0,
        part: (this.itemDone(m, 'in_progress').content as JsonObject[])[0]!,
      }),
    );
    return m;
  }

  private partDelta(m: OpenItem, delta: string, out: SseEvent[]): void {
    m.text += delta;
    const at = { item_id: m.id, output_index: m.outputIndex, content_index: 0, delta };
    out.push(
      m.kind === 'message'
        ? this.event('response.output_text.delta', { ...at, logprobs: [] })
        : this.event('response.reasoning_text.delta', at),
    );
  }

  private toolCall(tc: JsonObject, out: SseEvent[]): void {
    const index = typeof tc.index === 'number' ? tc.index : 0;
    const fn = isObject(tc.function) ? tc.function : {};
    let item = this.calls.get(index);
    if (item === undefined) {
      item = {
        kind: 'function_call',
        outputIndex: this.items.length,
        id: functionItemId(tc.id),
        text: '',
        callId: tc.id,
        name: fn.name,
      };
      this.calls.set(index, item);
      this.items.push(item);
      const added = functionCallItem({ callId: tc.id, name: fn.name, arguments: '' }, 'in_progress');
      out.push(this.event('response.output_item.added', { output_index: item.outputIndex, item: added }));
    }
    const args = fn.arguments;
    if (typeof args !== 'string' || args === '') return;
    item.text += args;
    out.push(
      this.event('response.function_call_arguments.delta', {
        item_id: item.id,
        output_index: item.outputIndex,
        delta: args,
      }),
    );
  }

  private itemDone(item: OpenItem, status: string): JsonObject {
    if (item.kind === 'message') return messageItem(item.id, item.text, status);
    if (item.kind === 'reasoning') return reasoningItem(item.id, item.text, status);
    return functionCallItem({ callId: item.callId, name: item.name, arguments: item.text }, status);
  }

  private close(item: OpenItem, done: JsonObject, out: SseEvent[]): void {
    const at = { item_id: item.id, output_index: item.outputIndex };
    if (item.kind !== 'function_call') {
      out.push(
        item.kind === 'message'
          ? this.event('response.output_text.done', {
              ...at,
              content_index: 0,
              text: item.text,
              logprobs: [],
            })
          : this.event('response.reasoning_text.done', { ...at, content_index: 0, text: item.text }),
      );
      const part = (done.content as JsonObject[])[0];
      out.push(this.event('response.content_part.done', { ...at, content_index: 0, part }));
    } else
      out.push(
        this.event('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.text }),
      );
    out.push(this.event('response.output_item.done', { output_index: item.outputIndex, item: done }));
  }

  /** One named event with its sequence number. */
  private event(type: string, fields: JsonObject): SseEvent {
    return jsonEvent({ type, sequence_number: this.seq++, ...fields }, type);
  }
}
