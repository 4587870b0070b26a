/**
 * Server-sent events as both model APIs use them (WHATWG HTML §9.2 "Server-sent events", the
 * event-stream interpretation): lines end in CRLF, LF or CR; a blank line dispatches the event;
 * `data:` lines join with "\n"; `event:` names the event; a line starting with ":" is a comment;
 * one space after the colon is dropped; a leading byte-order mark is dropped. `id:` and `retry:`
 * are read and ignored (neither API uses them). The parser is incremental: bytes may be split
 * anywhere, even inside a UTF-8 sequence or between the CR and LF of one line ending.
 */
import { StringDecoder } from 'node:string_decoder';

/** One dispatched event: its `event:` name, if any, and its `data:` lines joined by "\n". */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Incremental SSE parser: `push` bytes or text, get back the events they complete. */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  /** A CR ended the last chunk: an LF at the start of the next one belongs to it. */
  private pendingCr = false;
  private seenText = false;
  private eventName: string | undefined;
  private dataLines: string[] = [];

  /** Feeds the next piece of the stream; returns the events it completes, in order. */
  push(chunk: Buffer | Uint8Array | string): SseEvent[] {
    let text =
      typeof chunk === 'string'
        ? chunk
        : this.decoder.write(
            Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          );
    if (text === '') return [];
    // The spec drops one byte-order mark at the very start of the stream.
    if (!this.seenText && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this.seenText = true;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    // What the buffer held before holds no line ending: search only the new text for one, so a
    // long line arriving in many small pieces is scanned once, not once per piece.
    let from = this.buffer.length;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    // The next LF and CR at or after `from`, each searched again only once passed (-1: none left),
    // so a push of many lines is one pass over it.
    let lf = this.buffer.indexOf('\n', from);
    let cr = this.buffer.indexOf('\r', from);
    for (;;) {
      if (lf >= 0 && lf < from) lf = this.buffer.indexOf('\n', from);
      if (cr >= 0 && cr < from) cr = this.buffer.indexOf('\r', from);
      if (lf < 0 && cr < 0) break;
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        end = cr;
        if (cr + 1 === this.buffer.length) {
          // CR at the very end: the line is complete, but an LF may still follow in the next push.
          this.pendingCr = true;
          next = cr + 1;
        } else next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      const event = this.line(this.buffer.slice(start, end));
      if (event) events.push(event);
      start = next;
      from = next;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The end of the stream: an event without its blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    this.buffer = '';
    this.dataLines = [];
    this.eventName = undefined;
    return [];
  }

  /** Bytes received but not yet part of a dispatched event (a cut stream leaves some). */
  get pending(): boolean {
    return this.buffer.length > 0 || this.dataLines.length > 0 || this.eventName !== undefined;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const name = this.eventName;
    const lines = this.dataLines;
    this.eventName = undefined;
    this.dataLines = [];
    // The spec dispatches nothing for an event with no data lines.
    if (lines.length === 0) return undefined;
    const event: SseEvent = { data: lines.join('\n') };
    if (name !== undefined && name !== '') event.event = name;
    return event;
  }
}

/** One event as wire text: `event:` if named, one `data:` line per line of data, a blank line. */
export function formatSse(event: SseEvent): string {
  const head = event.event === undefined ? '' : `event: ${event.event}\n`;
  const data = event.data
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}\n`)
    .join('');
  return `${head}${data}\n`;
}

/** Several events as wire text. */
export function formatSseAll(events: readonly SseEvent[]): string {
  return events.map(formatSse).join('');
}

/** A JSON data event, optionally named (Anthropic names every event after its `type`). */
export function jsonEvent(data: unknown, event?: string): SseEvent {
  return event === undefined ? { data: JSON.stringify(data) } : { event, data: JSON.stringify(data) };
}
