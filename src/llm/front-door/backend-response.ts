/**
 * One request to a model backend through a dispatcher's handler API (`dispatch(opts, handler)`:
 * the service's lean client or undici Pool, a hosted provider's undici Pool): the head, then the
 * body either collected (an error answer, a whole one) or pushed chunk by chunk to a sink (a
 * stream) with backpressure. No Readable, no async iterator and no promise per chunk: a relayed
 * chunk costs the sink's own work and nothing else.
 *
 * Life: sent → head (status known; `head` resolves) → body (collected, or pushed once `stream`
 * is called; chunks that came before are handed over first) → complete | error (once).
 */
import type { Dispatcher } from 'undici';

/** Takes one body chunk; false asks the backend to pause until `resume`. */
export type ChunkSink = (chunk: Buffer) => boolean;

/** The handler given to `dispatch` (undici's dispatch-handler methods). */
export class BackendResponse {
  /** The response status (0 until the head came). */
  status = 0;
  /** Resolves when the head came; rejects when the request failed before it. */
  readonly head: Promise<void>;
  private headOk!: () => void;
  private headFail!: (err: Error) => void;
  private rawHeaders: (Buffer | string)[] = [];
  private abortFn: ((err?: Error) => void) | undefined;
  private resumeFn: (() => void) | undefined;
  private abortErr: Error | undefined;
  private sink: ChunkSink | undefined;
  private parts: Buffer[] = [];
  private size = 0;
  private max = Infinity;
  private ended = false;
  private error: Error | undefined;
  private endOk: (() => void) | undefined;
  private endFail: ((err: Error) => void) | undefined;

  constructor() {
    this.head = new Promise<void>((resolve, reject) => {
      this.headOk = resolve;
      this.headFail = reject;
    });
  }

  /** Sends the request through `dispatcher` with this as its handler. */
  send(dispatcher: { dispatch: Dispatcher['dispatch'] }, opts: Dispatcher.DispatchOptions): this {
    dispatcher.dispatch(opts, this as unknown as Dispatcher.DispatchHandler);
    return this;
  }

  /** Ends the request with `err` (now, or as soon as it is connected). */
  abort(err: Error): void {
    if (this.ended || this.error !== undefined) return;
    if (this.abortFn === undefined) this.abortErr ??= err;
    else this.abortFn(err);
  }

  /** Resumes a backend paused by the sink. */
  resume(): void {
    this.resumeFn?.();
  }

  /** A response header's value (the first), or undefined. */
  header(name: string): string | undefined {
    const h = this.rawHeaders;
    for (let i = 0; i < h.length; i += 2) if (String(h[i]).toLowerCase() === name) return String(h[i + 1]);
    return undefined;
  }

  /** The body as text, up to `max` bytes (the rest is read and discarded). */
  async text(max = Infinity): Promise<string> {
    this.max = max;
    await this.whenEnded();
    return Buffer.concat(this.parts).toString('utf8').slice(0, max);
  }

  /** Pushes the body to `sink` (chunks that came already first); resolves at the end. */
  stream(sink: ChunkSink): Promise<void> {
    const early = this.parts;
    this.parts = [];
    this.sink = sink;
    for (const c of early) sink(c);
    return this.whenEnded();
  }

  private whenEnded(): Promise<void> {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.endOk = resolve;
      this.endFail = reject;
    });
  }

  // --- undici's dispatch-handler methods

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.abortErr !== undefined) abort(this.abortErr);
  }

  onHeaders(status: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean {
    if (status < 200) return true; // informational responses are per hop
    this.status = status;
    this.rawHeaders = rawHeaders;
    this.resumeFn = resume;
    this.headOk();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.sink !== undefined) return this.sink(chunk);
    if (this.size < this.max) this.parts.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.ended || this.error !== undefined) return;
    this.ended = true;
    this.abortFn = undefined;
    this.resumeFn = undefined;
    this.endOk?.();
  }

  onError(err: Error): void {
    if (this.ended || this.error !== undefined) return;
    this.error = err;
    this.abortFn = undefined;
    this.resumeFn = undefined;
    if (this.status === 0) this.headFail(err);
    this.endFail?.(err);
  }
}
