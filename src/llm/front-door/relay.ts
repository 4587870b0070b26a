/**
 * Relays a backend's SSE stream to the client. Two kinds share one small interface:
 *
 * - `PassthroughRelay` (client and backend speak the same format): the backend's bytes go out as
 *   they came, event by event. It only scans: it finds event boundaries, checks that each data
 *   line looks like a JSON object (a malformed chunk ends the stream well-formed instead of being
 *   relayed), reads usage from the one or two events that carry it, and, when the front door asked
 *   the backend for usage the client did not ask for, drops the usage chunk and the `"usage":null`
 *   the option adds to every chunk, so the client receives the bytes it would have received
 *   without luascale. No chunk is parsed and re-serialised on this path.
 * - `TranslatingRelay` (formats differ): parses each event and runs formats' stream translator.
 *
 * Both hold nothing back once the first event is accepted; until then (`started` false) nothing
 * has been written, so the front door can still fall back to the next backend.
 */
import { StringDecoder } from 'node:string_decoder';
import { isObject, tryParseJson } from '../formats/checked.js';
import { formatSseAll, SseParser, type SseEvent } from '../formats/sse.js';
import { AnthropicStreamUsage, OpenaiStreamUsage, usageFromOpenai, type Usage } from '../formats/usage.js';
import type { ApiFormat } from './endpoints.js';

/** What the front door needs of a relay. */
export interface Relay {
  /** Backend bytes in; the text to write to the client ('' for none). */
  push(chunk: Buffer): string;
  /** The first event was accepted (from then on the client has bytes). */
  readonly started: boolean;
  /** The stream's own end was seen (`[DONE]`, `message_stop`). */
  readonly done: boolean;
  /** Why the stream is unusable (a malformed event, an error event), or undefined. */
  readonly failure: string | undefined;
  /** The usage the backend reported, if it did. */
  readonly usage: Usage | undefined;
  /** The data of the content events relayed so far (for estimating a cut stream's output). */
  readonly sent: readonly string[];
  /** The format of the events in `sent` (the backend's). */
  readonly sentFormat: ApiFormat;
}

/** A stream translator of formats (OpenaiToAnthropicStream, AnthropicToOpenaiStream). */
export interface StreamTranslator {
  push(event: SseEvent): SseEvent[];
  end(): SseEvent[];
}

const USAGE = /"usage":\s*\{/;
const USAGE_NULL = /,"usage":null|"usage":null,/;

/** Same format both sides: bytes out as they came, scanned (see the module comment). */
export class PassthroughRelay implements Relay {
  started = false;
  done = false;
  failure: string | undefined = undefined;
  usage: Usage | undefined = undefined;
  readonly sent: string[] = [];
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  private readonly anthropicUsage: AnthropicStreamUsage | undefined;

  /** `strip`: the backend was asked for usage the client did not ask for (OpenAI only). */
  constructor(
    private readonly format: ApiFormat,
    private readonly strip: boolean,
  ) {
    this.anthropicUsage = format === 'anthropic' ? new AnthropicStreamUsage() : undefined;
  }

  get sentFormat(): ApiFormat {
    return this.format;
  }

  push(chunk: Buffer): string {
    this.buf += this.decoder.write(chunk);
    let out = '';
    let pos = 0;
    for (;;) {
      const i = this.buf.indexOf('\n\n', pos);
      if (i < 0) break;
      const ev = this.buf.slice(pos, i + 2);
      pos = i + 2;
      out += this.format === 'openai' ? this.openai(ev) : this.anthropic(ev);
      if (this.failure !== undefined) break;
    }
    if (pos > 0) this.buf = this.buf.slice(pos);
    return out;
  }

  private openai(ev: string): string {
    const data = dataOf(ev);
    if (data === undefined) return this.started ? ev : ''; // a comment or keep-alive
    if (data === '[DONE]') {
      this.done = true;
      return ev;
    }
    if (!looksLikeObject(data)) return this.fail('malformed chunk from the backend');
    if (!this.started) {
      const first = tryParseJson(data);
      if (!isObject(first) || first.error !== undefined)
        return this.fail('backend stream began with an error');
      this.started = true;
    }
    if (USAGE.test(data)) {
      const u = usageFromOpenai((tryParseJson(data) as { usage?: unknown } | undefined)?.usage);
      if (u !== undefined) this.usage = u;
      if (this.strip) return '';
    }
    this.sent.push(data);
    return this.strip && USAGE_NULL.test(ev) ? ev.replace(USAGE_NULL, '') : ev;
  }

  private anthropic(ev: string): string {
    const data = dataOf(ev);
    if (data === undefined) return this.started ? ev : '';
    if (!looksLikeObject(data)) return this.fail('malformed event from the backend');
    const type = eventName(ev);
    if (!this.started) {
      if (type !== 'message_start' || !isObject(tryParseJson(data)))
        return this.fail('backend stream did not begin with message_start');
      this.started = true;
    }
    if (type === 'message_start' || type === 'message_delta' || type === 'message_stop') {
      this.anthropicUsage!.push({ event: type, data });
      this.usage = this.anthropicUsage!.usage;
      if (type === 'message_stop') this.done = true;
    } else if (type === 'error') {
      this.failure = 'backend sent an error event';
      return ev; // already well-formed for the client
    } else if (type === 'content_block_delta') this.sent.push(data);
    return ev;
  }

  private fail(reason: string): string {
    this.failure = reason;
    return '';
  }
}

/** Formats differ: each event parsed, translated by formats' translator, and written anew. */
export class TranslatingRelay implements Relay {
  started = false;
  done = false;
  failure: string | undefined = undefined;
  readonly sent: string[] = [];
  private ended = false;
  private readonly parser = new SseParser();
  private readonly reader: OpenaiStreamUsage | AnthropicStreamUsage;

  /** `backend`: the format the backend streams in. */
  constructor(
    private readonly backend: ApiFormat,
    private readonly translator: StreamTranslator,
  ) {
    this.reader = backend === 'openai' ? new OpenaiStreamUsage() : new AnthropicStreamUsage();
  }

  get usage(): Usage | undefined {
    return this.reader.usage;
  }

  get sentFormat(): ApiFormat {
    return this.backend;
  }

  push(chunk: Buffer): string {
    const out: SseEvent[] = [];
    for (const ev of this.parser.push(chunk)) {
      if (ev.data !== '[DONE]' && !looksLikeObject(ev.data)) {
        this.failure = 'malformed chunk from the backend';
        break;
      }
      if (!this.started) {
        const first = tryParseJson(ev.data);
        const ok =
          this.backend === 'openai'
            ? isObject(first) && first.error === undefined
            : isObject(first) && first.type === 'message_start';
        if (!ok) {
          this.failure = 'backend stream began with an error';
          break;
        }
        this.started = true;
      }
      if (ev.event === 'error') {
        this.failure = 'backend sent an error event';
        break;
      }
      this.reader.push(ev);
      if (this.reader.complete) this.done = true;
      this.sent.push(ev.data);
      for (const o of this.translator.push(ev)) out.push(o);
    }
    if (this.done && !this.ended) {
      this.ended = true;
      for (const o of this.translator.end()) out.push(o);
    }
    return out.length === 0 ? '' : formatSseAll(out);
  }
}

/** The data of a one-line `data:` event (`event:` line first allowed), or undefined for none. */
function dataOf(ev: string): string | undefined {
  let i = ev.indexOf('data:');
  if (i < 0) return undefined;
  if (i > 0 && ev[i - 1] !== '\n') return undefined;
  i += ev[i + 5] === ' ' ? 6 : 5;
  let end = ev.indexOf('\n', i);
  if (end < 0) end = ev.length;
  if (ev[end - 1] === '\r') end--;
  return ev.slice(i, end);
}

/** The `event:` name of an event, or ''. */
function eventName(ev: string): string {
  if (!ev.startsWith('event:')) return '';
  const end = ev.indexOf('\n');
  return ev.slice(ev[6] === ' ' ? 7 : 6, ev[end - 1] === '\r' ? end - 1 : end);
}

/** A JSON object's first and last characters, without parsing it. */
function looksLikeObject(data: string): boolean {
  return data.length >= 2 && data.charCodeAt(0) === 123 && data.charCodeAt(data.length - 1) === 125;
}
