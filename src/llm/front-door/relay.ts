/**
 * Relays a backend's SSE stream to the client. Two kinds share one small interface:
 *
 * - `PassthroughRelay` (client and backend speak the same format): the backend's bytes go out as
 *   they came, event by event. It only scans: it finds event boundaries, checks that each data
 *   line looks like a JSON object (a malformed chunk ends the stream well-formed instead of being
 *   relayed), reads usage from the one or two events that carry it, and, when the front door asked
 *   the backend for usage the client did not ask for, drops the usage chunk and the `"usage":null`
 *   the option adds to every chunk, so the client receives the bytes it would have received
 *   without luascale. It works on the bytes: no chunk is decoded, parsed or re-serialised on this
 *   path, and the text delivered is read back (and tokenized) only when a cut stream needs it.
 * - `TranslatingRelay` (formats differ): parses each event and runs formats' stream translator.
 *
 * Both hold nothing back once the first event is accepted; until then (`started` false) nothing
 * has been written, so the front door can still fall back to the next backend.
 */
import { isObject, tryParseJson } from '../formats/checked.js';
import { formatSseAll, SseParser, type SseEvent } from '../formats/sse.js';
import { AnthropicStreamUsage, OpenaiStreamUsage, usageFromOpenai, type Usage } from '../formats/usage.js';
import type { ApiFormat } from './endpoints.js';
import { estimateOutputTokens } from './estimate.js';

/** What the front door needs of a relay. */
export interface Relay {
  /**
   * Backend bytes in; what to write to the client (empty for nothing). The chunk is the relay's
   * from then on: it may rewrite it in place (the backend clients hand each chunk over once).
   */
  push(chunk: Buffer): Buffer | string;
  /** The first event was accepted (from then on the client has bytes). */
  readonly started: boolean;
  /** The stream's own end was seen (`[DONE]`, `message_stop`). */
  readonly done: boolean;
  /** Why the stream is unusable (a malformed event, an error event), or undefined. */
  readonly failure: string | undefined;
  /** The usage the backend reported, if it did. */
  readonly usage: Usage | undefined;
  /** The output tokens relayed so far, counted by the tokenizer (for a cut stream: costly, call once at the end). */
  outputTokens(): number;
  /** The events that end the client's stream after a failure, when the client's stream has its own (Responses API). */
  failEvents?(message: string): string | undefined;
}

/** A stream translator of formats (OpenaiToAnthropicStream, AnthropicToOpenaiStream, ChatToResponsesStream). */
export interface StreamTranslator {
  push(event: SseEvent): SseEvent[];
  end(): SseEvent[];
  /** Its own well-formed end after a failure (the Responses API's `error` and `response.failed`). */
  failEvents?(message: string): SseEvent[];
}

const EMPTY = Buffer.alloc(0);
/** The delivered log's first size (a 60-token chat stream is ~15 KB). */
const LOG_START = 4096;
/** What an event becomes: passed on as it came, dropped, or passed on without [cutFrom, cutTo). */
const KEEP = 0;
const DROP = 1;
const CUT = 2;
type Verdict = typeof KEEP | typeof DROP | typeof CUT;

/**
 * Same format both sides: bytes out as they came, scanned (see the module comment). The scan
 * reads a latin1 view of the chunk (one character per byte, so its indexes are byte offsets):
 * event boundaries and the few fields it looks at are found without decoding UTF-8, and a chunk
 * that passes whole is written as the very buffer that came (no copy, no re-encoding). What is
 * dropped or stripped is closed up in the chunk's own memory (a memmove, no new buffer).
 */
export class PassthroughRelay implements Relay {
  started = false;
  done = false;
  failure: string | undefined = undefined;
  usage: Usage | undefined = undefined;
  /**
   * What was written to the client (read again only to estimate a cut stream's output), copied
   * into one buffer that doubles as it fills: holding each chunk instead kept ~60 small Buffers
   * per stream alive for the stream's length, and those survivors are what made the young
   * generation's scavenges slow and filled the old space (a mark-compact every second or so
   * at 100 streams: the TTFT p99's pauses).
   */
  private log: Buffer = EMPTY;
  private logLength = 0;
  /** An event not yet whole, carried to the next chunk. */
  private rest: Buffer | undefined;
  private readonly anthropicUsage: AnthropicStreamUsage | undefined;
  /** The chunk being scanned and its latin1 view. */
  private buf: Buffer = EMPTY;
  private view = '';
  /** Where the next byte kept goes in `buf` (see push). */
  private w = 0;
  /** The bytes a CUT verdict leaves out. */
  private cutFrom = 0;
  private cutTo = 0;

  /** `strip`: the backend was asked for usage the client did not ask for (OpenAI only). */
  constructor(
    private readonly format: ApiFormat,
    private readonly strip: boolean,
  ) {
    this.anthropicUsage = format === 'anthropic' ? new AnthropicStreamUsage() : undefined;
  }

  push(chunk: Buffer): Buffer {
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    const v = buf.toString('latin1');
    this.buf = buf;
    this.view = v;
    let pos = 0;
    // The output is compacted in place: `w` is where the next byte kept goes (w <= pos, so the
    // bytes not yet scanned are never overwritten; w === pos until something is left out).
    this.w = 0;
    for (;;) {
      const i = v.indexOf('\n\n', pos);
      if (i < 0) break;
      const end = i + 2;
      const verdict = this.format === 'openai' ? this.openai(pos, end) : this.anthropic(pos, end);
      if (verdict === KEEP) this.keep(pos, end);
      else if (verdict === CUT) {
        this.keep(pos, this.cutFrom);
        this.keep(this.cutTo, end);
      }
      pos = end;
      if (this.failure !== undefined) break;
    }
    const w = this.w;
    this.buf = EMPTY;
    this.view = '';
    if (pos < buf.length && this.failure === undefined) this.rest = buf.subarray(pos);
    const out = w === buf.length ? buf : w === 0 ? EMPTY : buf.subarray(0, w);
    if (out.length > 0) this.record(out);
    return out;
  }

  outputTokens(): number {
    return estimateDeliveredTokens(this.log.subarray(0, this.logLength), this.format);
  }

  /** Appends what went to the client to the log (see `log`). */
  private record(out: Buffer): void {
    const need = this.logLength + out.length;
    if (need > this.log.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.log.length * 2, LOG_START));
      this.log.copy(grown, 0, 0, this.logLength);
      this.log = grown;
    }
    out.copy(this.log, this.logLength);
    this.logLength = need;
  }

  /** One OpenAI event, [s, e) of the chunk. */
  private openai(s: number, e: number): Verdict {
    const v = this.view;
    const ds = dataStart(v, s, e);
    if (ds < 0) return this.started ? KEEP : DROP; // a comment or keep-alive
    const de = lineEnd(v, ds, e);
    if (de - ds === 6 && v.startsWith('[DONE]', ds)) {
      this.done = true;
      return KEEP;
    }
    if (!looksLikeObject(v, ds, de)) return this.fail('malformed chunk from the backend');
    if (!this.started) {
      const first = tryParseJson(this.buf.toString('utf8', ds, de));
      if (!isObject(first) || first.error !== undefined)
        return this.fail('backend stream began with an error');
      this.started = true;
    }
    // The usage chunk (`"usage": {`): read, and dropped when the client did not ask for it.
    for (let k = v.indexOf('"usage":', ds); k >= 0 && k < de; k = v.indexOf('"usage":', k + 1)) {
      let j = k + 8;
      while (j < de && isSpace(v.charCodeAt(j))) j++;
      if (v.charCodeAt(j) !== 123) continue;
      const json = tryParseJson(this.buf.toString('utf8', ds, de)) as { usage?: unknown } | undefined;
      const u = usageFromOpenai(json?.usage);
      if (u !== undefined) this.usage = u;
      if (this.strip) return DROP;
      break;
    }
    return this.strip ? this.withoutUsageNull(s, e) : KEEP;
  }

  /** One Anthropic event, [s, e) of the chunk. */
  private anthropic(s: number, e: number): Verdict {
    const v = this.view;
    const ds = dataStart(v, s, e);
    if (ds < 0) return this.started ? KEEP : DROP;
    const de = lineEnd(v, ds, e);
    if (!looksLikeObject(v, ds, de)) return this.fail('malformed event from the backend');
    const type = eventName(v, s, e);
    if (!this.started) {
      if (type !== 'message_start' || !isObject(tryParseJson(this.buf.toString('utf8', ds, de))))
        return this.fail('backend stream did not begin with message_start');
      this.started = true;
    }
    if (type === 'message_start' || type === 'message_delta' || type === 'message_stop') {
      this.anthropicUsage!.push({ event: type, data: this.buf.toString('utf8', ds, de) });
      this.usage = this.anthropicUsage!.usage;
      if (type === 'message_stop') this.done = true;
    } else if (type === 'error') this.failure = 'backend sent an error event'; // passed on: well-formed for the client
    return KEEP;
  }

  /**
   * The event [s, e) without the `"usage":null` the front door's `include_usage` added (with its
   * comma: `,"usage":null` first, else `"usage":null,`); KEEP when it has none.
   */
  private withoutUsageNull(s: number, e: number): Verdict {
    const v = this.view;
    const k = v.indexOf('"usage":null', s);
    if (k < 0 || k + 12 > e) return KEEP;
    if (k > s && v.charCodeAt(k - 1) === 44) this.cutFrom = k - 1;
    else if (v.charCodeAt(k + 12) === 44) this.cutFrom = k;
    else return KEEP;
    this.cutTo = this.cutFrom + 13;
    return CUT;
  }

  /** Keeps buf[from, to): moved down to `w` when something before it was left out. */
  private keep(from: number, to: number): void {
    if (to <= from) return;
    if (this.w !== from) this.buf.copyWithin(this.w, from, to);
    this.w += to - from;
  }

  private fail(reason: string): Verdict {
    this.failure = reason;
    return DROP;
  }
}

/** Output tokens in the SSE bytes delivered to the client (`format`'s content events). */
function estimateDeliveredTokens(delivered: Buffer, format: ApiFormat): number {
  if (delivered.length === 0) return 0;
  const parser = new SseParser();
  const data: string[] = [];
  for (const ev of parser.push(delivered))
    if (format === 'openai' || ev.event === 'content_block_delta') data.push(ev.data);
  return estimateOutputTokens(data, format);
}

/** Formats differ: each event parsed, translated by formats' translator, and written anew. */
export class TranslatingRelay implements Relay {
  started = false;
  done = false;
  failure: string | undefined = undefined;
  /** The data of the backend's events relayed so far (for estimating a cut stream's output). */
  private readonly sent: string[] = [];
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

  outputTokens(): number {
    return estimateOutputTokens(this.sent, this.backend);
  }

  failEvents(message: string): string | undefined {
    const events = this.translator.failEvents?.(message);
    return events === undefined ? undefined : formatSseAll(events);
  }

  push(chunk: Buffer): string {
    const out: SseEvent[] = [];
    for (const ev of this.parser.push(chunk)) {
      if (ev.data !== '[DONE]' && !looksLikeObjectText(ev.data)) {
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

/**
 * Where the data of a one-line `data:` event in [s, e) of `v` starts (`event:` line first
 * allowed), or -1 for none (a comment, a keep-alive).
 */
function dataStart(v: string, s: number, e: number): number {
  const i = v.indexOf('data:', s);
  if (i < 0 || i >= e) return -1;
  if (i > s && v.charCodeAt(i - 1) !== 10) return -1;
  return i + (v.charCodeAt(i + 5) === 32 ? 6 : 5);
}

/** The end of the line starting at `i` (before `\r\n` or `\n`), at most `e`. */
function lineEnd(v: string, i: number, e: number): number {
  let end = v.indexOf('\n', i);
  if (end < 0 || end > e) end = e;
  if (v.charCodeAt(end - 1) === 13) end--;
  return end;
}

/** The `event:` name of the event [s, e) of `v`, or ''. */
function eventName(v: string, s: number, e: number): string {
  if (!v.startsWith('event:', s)) return '';
  const start = s + (v.charCodeAt(s + 6) === 32 ? 7 : 6);
  return v.slice(start, lineEnd(v, start, e));
}

/** A JSON object's first and last bytes, without parsing it. */
function looksLikeObject(v: string, s: number, e: number): boolean {
  return e - s >= 2 && v.charCodeAt(s) === 123 && v.charCodeAt(e - 1) === 125;
}

/** JSON whitespace. */
function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** A JSON object's first and last characters, without parsing it. */
function looksLikeObjectText(data: string): boolean {
  return data.length >= 2 && data.charCodeAt(0) === 123 && data.charCodeAt(data.length - 1) === 125;
}
