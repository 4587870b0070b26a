/**
 * One keep-alive HTTP/1.1 connection to an upstream instance, one request in flight at a time. The
 * request head goes out in one write (corked with a buffered body); the response is parsed by node's
 * own llhttp binding (http-parser.ts), strict, and handed to undici's dispatch-handler methods
 * (onConnect/onHeaders/onData/onComplete/onError), so the exchange cannot tell this path from undici's.
 * As node:http's server does, the parser consumes the socket's handle (`parser.consume`): llhttp
 * reads straight from libuv's buffer and reports each read through `kOnExecute`, so no Buffer,
 * stream chunk or 'data' event is made per read (EOF and read errors still reach the socket, and
 * a socket that cannot be consumed falls back to 'data' and `execute`).
 *
 * State: connecting → busy ⇄ idle → closed. A request ends exactly once (onComplete or onError);
 * the connection goes back to idle only when the response was whole, keep-alive, nothing followed it
 * in the same read, and the request body was sent in full; anything else closes it, so no byte of
 * one response can reach the next request's client. Callbacks and listeners are bound once per
 * connection, not per request; timeouts (response head, body idle, keep-alive idle) cost no timer
 * per request either: the pool sweeps its connections on a coarse tick (`sweep`) and each one
 * counts the time it has waited.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { httpParserClass, type NodeHttpParser, type NodeHttpParserClass } from './http-parser.js';
import { writeRequestHead, type LeanBody } from './request-head.js';

/** The dispatch-handler methods the lean client calls (undici's legacy handler API). */
export interface LeanHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
}

/** What a connection needs from its pool. */
export interface LeanOwner {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly keepAliveMs: number;
  readonly maxHeaderSize: number;
  /** The request ended and the connection may take another (`reusable`) or is closing. */
  release(conn: LeanConnection, reusable: boolean): void;
  /** The connection closed for good. */
  closed(conn: LeanConnection): void;
  /** A request waits with a timeout of `ms`: the owner calls `sweep` at least every ms/16. */
  watch(ms: number): void;
}

const NONE = 0;
const HEADERS = 1;
const BODY = 2;

/** An error with a stable code (the undici codes forward-stage.ts maps to 502/504). */
export function leanError(message: string, code: string): Error {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/** One upstream connection (see the module comment). */
export class LeanConnection {
  readonly owner: LeanOwner;
  readonly socket: net.Socket;
  readonly parser: NodeHttpParser;
  state: 'connecting' | 'idle' | 'busy' | 'closed' = 'connecting';
  /** Requests completed on this connection (a reused one may have been closed by the peer). */
  served = 0;

  // the request in flight
  handler: LeanHandler | null = null;
  opts: Dispatcher.DispatchOptions | null = null;
  body: LeanBody = null;
  chunkedBody = false;
  bodySent = false;
  head = false;
  phase = NONE;
  status = 0;
  keepAlive = false;
  complete = false;
  broken = false;
  paused = false;
  waitingDrain = false;
  trailers: string[] | null = null;
  pending: string[] | null = null;
  /**
   * Body pieces parsed from the current read, handed over together when the read is parsed (one
   * onData, so one client write, per read rather than per HTTP chunk: an SSE stream ahead of a
   * busy gateway brings several events per read). The binding copies each piece, so holding them
   * to the end of the read is safe.
   */
  held: Buffer | Buffer[] | null = null;

  /** The current phase's timeout (ms, 0: none) and how long it (or the idle connection) has waited, counted in sweep ticks. */
  limitMs = 0;
  waitedMs = 0;
  /** The parser reads from the socket's handle (see the module comment). */
  consumed = false;

  // bound once: handed to the socket, the parser, the handler and timers
  readonly abort = (err?: Error): void => this.fail(err ?? leanError('aborted', 'UND_ERR_ABORTED'));
  readonly resume = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.waitedMs = 0;
    this.readStart();
  };
  readonly onBodyData = (chunk: Buffer): void => {
    this.writeBodyChunk(chunk);
  };
  readonly onBodyEnd = (): void => this.endBody();
  readonly onBodyError = (err: Error): void => this.fail(err);
  readonly onSocketDrain = (): void => {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    (this.body as Readable | null)?.resume?.();
  };

  constructor(owner: LeanOwner, Parser?: NodeHttpParserClass) {
    this.owner = owner;
    const P = Parser ?? httpParserClass()!;
    const parser = new P();
    parser.initialize(P.RESPONSE, this, owner.maxHeaderSize, P.kLenientNone);
    parser[P.kOnHeaders] = (headers: string[]) => this.onParserHeaders(headers);
    // The binding's own signature (node_http_parser.cc); a rest array would allocate per response.
    /* eslint-disable max-params */
    parser[P.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
      _method: unknown,
      _url: unknown,
      status: number,
      statusText: string | undefined,
      upgrade: boolean,
      keepAlive: boolean,
    ) => this.onHeadersComplete(headers, status, statusText ?? '', (upgrade ? 1 : 0) | (keepAlive ? 2 : 0));
    /* eslint-enable max-params */
    parser[P.kOnBody] = (b: Buffer) => this.onBody(b);
    parser[P.kOnMessageComplete] = () => this.onMessageComplete();
    parser[P.kOnExecute] = (ret: number | Error) => this.afterExecute(ret);
    this.parser = parser;
    const socket = net.connect({ host: owner.host, port: owner.port, noDelay: true });
    socket.setTimeout(owner.connectTimeout);
    socket.once('timeout', () => {
      if (this.state === 'connecting')
        this.fail(leanError(`connect timeout (${owner.connectTimeout} ms)`, 'UND_ERR_CONNECT_TIMEOUT'));
    });
    socket.once('connect', () => this.onConnected());
    socket.on('data', (d: Buffer) => this.onSocketData(d));
    socket.on('end', () => this.onSocketEnd());
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', this.onSocketDrain);
    this.socket = socket;
  }

  /** Starts a request (on a connecting socket it goes out once connected). */
  run(opts: Dispatcher.DispatchOptions, handler: LeanHandler): void {
    this.handler = handler;
    this.opts = opts;
    this.body = (opts.body ?? null) as LeanBody;
    this.head = opts.method === 'HEAD';
    this.bodySent = false;
    this.status = 0;
    this.keepAlive = false;
    this.complete = false;
    this.trailers = null;
    this.pending = null;
    handler.onConnect(this.abort);
    if (this.handler !== handler) return; // aborted at once (the client had left)
    if (this.state === 'connecting') return;
    this.send();
  }

  private onConnected(): void {
    this.socket.setTimeout(0);
    if (this.state !== 'connecting') return;
    this.consume();
    this.state = 'busy';
    if (this.handler !== null) this.send();
    else this.owner.release(this, true);
  }

  private send(): void {
    this.state = 'busy';
    this.phase = HEADERS;
    this.arm(this.opts!.headersTimeout ?? 0);
    this.chunkedBody = writeRequestHead(this.socket, this.opts!, this.body);
    const body = this.body;
    if (body === null || Buffer.isBuffer(body) || typeof body === 'string') this.bodySent = true;
    else if (typeof (body as Readable).pipe === 'function') {
      const r = body as Readable;
      r.on('data', this.onBodyData);
      r.on('end', this.onBodyEnd);
      r.on('error', this.onBodyError);
      r.resume();
    } else void this.pump(body as AsyncIterable<Buffer>, this.handler!);
  }

  private writeBodyChunk(chunk: Buffer | string): boolean {
    if (this.handler === null || chunk.length === 0) return true;
    const s = this.socket;
    let ok: boolean;
    if (this.chunkedBody) {
      s.cork();
      s.write(chunk.length.toString(16) + '\r\n', 'latin1');
      s.write(chunk);
      ok = s.write('\r\n', 'latin1');
      s.uncork();
    } else ok = s.write(chunk);
    if (!ok) {
      this.waitingDrain = true;
      (this.body as Readable).pause?.();
    }
    return ok;
  }

  private endBody(): void {
    if (this.handler === null) return;
    if (this.chunkedBody) this.socket.write('0\r\n\r\n', 'latin1');
    this.bodySent = true;
    this.detachBody();
  }

  /** A body that is an async iterable (a counted chunked upload): written with backpressure. */
  private async pump(body: AsyncIterable<Buffer>, handler: LeanHandler): Promise<void> {
    try {
      for await (const chunk of body) {
        if (this.handler !== handler) return;
        if (!this.writeBodyChunk(chunk)) {
          await new Promise<void>((resolve) => this.socket.once('drain', resolve));
          if (this.handler !== handler) return;
        }
      }
      if (this.handler === handler) this.endBody();
    } catch (err) {
      if (this.handler === handler) this.fail(err as Error);
    }
  }

  private detachBody(): void {
    const b = this.body as Readable | null;
    if (b !== null && typeof b.pipe === 'function') {
      b.off('data', this.onBodyData);
      b.off('end', this.onBodyEnd);
      b.off('error', this.onBodyError);
      // Ended early (a response before the whole upload, or a failure): let the rest drain away
      // rather than leave the client's request paused on a full socket.
      if (!this.bodySent) b.resume();
    }
  }

  /**
   * Reads go to the parser from the handle from here on (node:http's server does the same with
   * its sockets, _http_server.js). Only a plain TCP handle that nothing consumes yet qualifies.
   */
  private consume(): void {
    const handle = (this.socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (handle == null || handle.isStreamBase !== true || handle._consumed === true) return;
    if (typeof this.parser.consume !== 'function') return;
    handle._consumed = true;
    this.parser.consume(handle);
    this.consumed = true;
  }

  /** Not consumed: a read arrives as a 'data' event and is parsed here. */
  private onSocketData(d: Buffer): void {
    if (this.handler === null || this.complete || this.broken) return this.unasked();
    this.afterExecute(this.parser.execute(d));
  }

  /**
   * After each read is parsed (kOnExecute when consumed): a whole response is handed over, a
   * parse error fails the request. Bytes nobody asked for (on an idle connection) close it.
   */
  private afterExecute(ret: number | Error): void {
    if (this.held !== null) this.handOver();
    if (this.handler === null) return this.unasked();
    if (this.complete) {
      // Whole, but bytes followed it in the same read: deliver it, then close (never reuse).
      if (ret instanceof Error) this.broken = true;
      return this.finishResponse();
    }
    if (ret instanceof Error) return this.fail(ret);
    if (this.broken) this.fail(leanError('unexpected upstream response', 'UND_ERR_SOCKET'));
  }

  /** Bytes after a whole response, or on an idle connection: never passed on. */
  private unasked(): void {
    this.broken = true;
    this.socket.destroy();
  }

  private onParserHeaders(headers: string[]): void {
    if (this.pending === null) this.pending = headers;
    else for (let i = 0; i < headers.length; i++) this.pending.push(headers[i]!);
  }

  // node's binding calls (versionMajor, versionMinor, headers, method, url, statusCode,
  // statusMessage, upgrade, shouldKeepAlive); 1 skips the body (HEAD, 1xx), 0 not (_http_client.js).
  private onHeadersComplete(
    list: string[] | undefined,
    status: number,
    statusText: string,
    /** 1: upgrade, 2: keep-alive. */
    flags: number,
  ): number {
    const h = this.handler;
    if (h === null || this.complete || this.broken) {
      this.broken = true; // a second response to one request
      return 1;
    }
    const headers = list ?? this.pending ?? [];
    this.pending = null;
    if (status < 200) {
      // 101 to a request that asked for no upgrade is a protocol error; other 1xx are per hop.
      if (status === 101 || (flags & 1) !== 0) this.broken = true;
      return 1;
    }
    this.status = status;
    this.keepAlive = (flags & 2) !== 0;
    this.phase = BODY;
    this.arm(this.opts!.bodyTimeout ?? 0);
    const go = h.onHeaders(status, headers as unknown as Buffer[], this.resume, statusText);
    if (this.handler !== h) return 1;
    if (!go) this.pause();
    return this.head ? 1 : 0;
  }

  private onBody(b: Buffer): void {
    if (this.handler === null || this.status === 0) return;
    this.waitedMs = 0;
    const held = this.held;
    if (held === null) this.held = b;
    else if (Array.isArray(held)) held.push(b);
    else this.held = [held, b];
  }

  /** The read's body pieces to the handler, as one chunk (see `held`). */
  private handOver(): void {
    const held = this.held!;
    this.held = null;
    const h = this.handler;
    if (h === null) return;
    if (!h.onData(Array.isArray(held) ? Buffer.concat(held) : held) && this.handler === h) this.pause();
  }

  private onMessageComplete(): void {
    if (this.handler === null || this.broken) return;
    if (this.status === 0) {
      this.pending = null; // the end of a 1xx: the real response follows
      return;
    }
    this.trailers = this.pending;
    this.pending = null;
    this.complete = true;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (!this.consumed) return void this.socket.pause();
    // Consumed, the stream never sees the data: stop reading at the handle (as _http_server.js does).
    const handle = (this.socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (handle != null && handle.reading === true) {
      handle.reading = false;
      handle.readStop();
    }
  }

  private readStart(): void {
    if (!this.consumed) return void this.socket.resume();
    const handle = (this.socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (handle != null && handle.reading !== true && !this.socket.destroyed) {
      handle.reading = true;
      handle.readStart();
    }
  }

  /**
   * The response is whole: hand it over, then free the connection or close it. A response that
   * came before the request body was all sent (an early 413, say) ends the request too, as undici
   * does, but the connection is closed: the upstream may not have read the rest.
   */
  private finishResponse(): void {
    if (this.held !== null) this.handOver();
    const h = this.handler;
    if (h === null) return; // the handler ended the request while taking the body
    const reusable =
      this.keepAlive && this.bodySent && !this.broken && this.state === 'busy' && !this.socket.destroyed;
    this.endRequest();
    this.served++;
    if (!reusable) this.close();
    h.onComplete(this.trailers);
    if (reusable) this.owner.release(this, true);
  }

  private endRequest(): void {
    this.detachBody();
    this.held = null;
    this.handler = null;
    this.opts = null;
    this.body = null;
    this.phase = NONE;
    if (this.paused) {
      this.paused = false;
      this.readStart();
    }
  }

  private onSocketEnd(): void {
    if (this.handler === null) return this.close();
    // Read-until-close bodies end here; a cut length or chunked body is an error.
    const ret = this.parser.finish();
    if (ret instanceof Error || !this.complete)
      return this.fail(leanError('other side closed', 'UND_ERR_SOCKET'));
    this.keepAlive = false;
    this.finishResponse();
  }

  private onSocketClose(): void {
    if (this.handler !== null) this.fail(leanError('other side closed', 'UND_ERR_SOCKET'));
    this.close();
  }

  /**
   * Ends the request in flight with `err` (once) and closes the connection. A connection the peer
   * closed under a request before any response byte (the keep-alive race, RFC 9112 §9.3.1) fails
   * with UND_ERR_SOCKET as on undici: the forward stage retries it on a fresh connection for
   * idempotent requests within the route's retry budget.
   */
  fail(err: Error): void {
    const h = this.handler;
    if (h !== null) this.endRequest();
    this.close();
    if (h !== null) h.onError(err);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.phase = NONE;
    this.socket.destroy();
    // Freed on the next turn: close() may run inside the parser's own execute (node does the same).
    setImmediate(closeParser, this);
    this.owner.closed(this);
    const h = this.handler;
    if (h !== null) {
      this.endRequest();
      h.onError(leanError('connection closed', 'UND_ERR_SOCKET'));
    }
  }

  /** Marks the connection idle; the sweep closes it after `keepAliveMs` unused. */
  idle(): void {
    this.state = 'idle';
    this.waitedMs = 0;
  }

  /** Starts the current phase's timeout (0: none); the owner's sweep enforces it. */
  private arm(ms: number): void {
    this.waitedMs = 0;
    this.limitMs = ms > 0 ? ms : 0;
    if (ms > 0) this.owner.watch(ms);
  }

  /**
   * One tick of the owner's sweep, `tickMs` since the last. A request waiting longer than its
   * phase allows fails (no response head within headersTimeout; no body byte within bodyTimeout,
   * unless the client holds it paused); the wait counts whole ticks from the last activity, so
   * the timeout fires between `ms` and `ms` + 2 ticks. An idle connection closes a little before
   * `keepAliveMs` rather than after (between keepAliveMs − 2 ticks and keepAliveMs), so it never
   * outlives an upstream's keep-alive timeout set at the same value. Returns the timeout it waits
   * on (ms), 0 for none.
   */
  sweep(tickMs: number): number {
    const waited = this.waitedMs + tickMs;
    this.waitedMs = waited;
    if (this.state === 'idle') {
      const ms = this.owner.keepAliveMs;
      if (waited + tickMs < ms) return ms;
      this.close();
      return 0;
    }
    if (this.handler === null || this.limitMs === 0 || this.phase === NONE) return 0;
    const ms = this.limitMs;
    if (this.phase === BODY && this.paused) {
      this.waitedMs = 0;
      return ms;
    }
    if (waited - tickMs < ms) return ms;
    if (this.phase === HEADERS)
      this.fail(leanError(`no response head within ${ms} ms`, 'UND_ERR_HEADERS_TIMEOUT'));
    else this.fail(leanError(`response body idle for ${ms} ms`, 'UND_ERR_BODY_TIMEOUT'));
    return 0;
  }
}

function closeParser(conn: LeanConnection): void {
  if (conn.consumed) conn.parser.unconsume?.();
  conn.parser.close();
}

/** The parts of node's TCP handle (a StreamBase) that consuming it touches (net.js, _http_server.js). */
interface StreamHandle {
  isStreamBase?: boolean;
  _consumed?: boolean;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}
