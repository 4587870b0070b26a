/**
 * An upstream instance spoken to over HTTP/2 (`upstream.protocol: h2` over TLS, `h2c` cleartext
 * with prior knowledge): one node:http2 client session per instance, every request a stream on it.
 * It is an undici Dispatcher, so the forward stage (and the health probe's `request()`) use it as
 * they use an undici Pool: the exchange gets onConnect / onHeaders / onData / onComplete(trailers)
 * / onError as from undici. node:http2 rather than undici's `allowH2`: response trailers (gRPC's
 * grpc-status) must reach the client, and a bidirectional call needs the response head while the
 * request body still streams.
 *
 * A trailers-only response (HEADERS with END_STREAM carrying grpc-status) is handed on as a head
 * and then trailers, the other form gRPC allows, so the client side needs no special path.
 * `grpc-timeout` (gRPC over HTTP/2: `1*8DIGIT unit`) is enforced here: past it the upstream stream
 * is cancelled and the call ends with DEADLINE_EXCEEDED (4). One longer than a timer can hold
 * (2^31-1 ms, about 24.8 days; `99999999H` is 11,000 years) is forwarded but not enforced here: node
 * would fire it after 1 ms. The timer goes when the call ends, so it holds no finished call.
 *
 * Session lifecycle: none → connecting → open → (GOAWAY | error | close | streams used up) → none;
 * the next request opens a new one. close() lets open streams finish (GOAWAY), destroy() cuts them.
 * A session has 2^30 client stream IDs (odd, up to 2^31-1; RFC 9113 §5.1.1): once they run out node
 * fails every new stream on it (ERR_HTTP2_OUT_OF_STREAMS) and keeps the session open, so every call
 * to the instance would fail from then on (after ~2.5 days at 5,000 calls/s). A session that has
 * started `maxStreamsPerSession` streams is closed gracefully and the next call opens a new one.
 */
import http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { ConnectionOptions } from 'node:tls';
import { Dispatcher } from 'undici';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;
// Connection-specific fields are forbidden in HTTP/2 (RFC 9113 §8.2.2); TE only as "trailers".
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);
const HEAD_FIELDS = new Set(['content-type', 'date', 'server']);
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
/** The longest setTimeout delay; a longer one fires after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of one instance's HTTP/2 client. */
export interface H2UpstreamOptions {
  connectTimeout: number;
  /** TLS towards an `https://` instance (CA, client certificate, servername). */
  tls?: ConnectionOptions;
  /** Streams one session starts before it is replaced (default: the ID space less 65,536). */
  maxStreamsPerSession?: number;
}

/** Client stream IDs of one session (odd numbers below 2^31), less a margin. */
const MAX_STREAMS_PER_SESSION = 2 ** 30 - 2 ** 16;

/** The `grpc-timeout` header value in ms, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m === null ? undefined : Number(m[1]) * UNIT_MS[m[2]!]!;
}

type Handler = Dispatcher.DispatchHandler;

/** An instance's HTTP/2 session as an undici Dispatcher (see the module comment). */
export class H2Upstream extends Dispatcher {
  private readonly origin: string;
  private readonly options: H2UpstreamOptions;
  private session: http2.ClientHttp2Session | undefined;
  /** Streams started on `session`. */
  private started = 0;
  private closing = false;

  constructor(origin: string, options: H2UpstreamOptions) {
    super();
    this.origin = origin;
    this.options = options;
  }

  /** Starts one request as a stream on the instance's session. */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.closing) {
      handler.onError?.(Object.assign(new Error('upstream closed'), { code: 'UND_ERR_DESTROYED' }));
      return false;
    }
    new H2Call(this.sessionNow(), opts, handler).start();
    return true;
  }

  /** Lets open streams finish, then closes the session. */
  override async close(): Promise<void> {
    this.closing = true;
    const s = this.session;
    this.session = undefined;
    if (s !== undefined && !s.destroyed) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Cuts the session and its streams. */
  override async destroy(): Promise<void> {
    this.closing = true;
    this.session?.destroy();
    this.session = undefined;
  }

  private sessionNow(): http2.ClientHttp2Session {
    const cur = this.session;
    if (cur !== undefined && !cur.closed && !cur.destroyed) {
      if (++this.started <= (this.options.maxStreamsPerSession ?? MAX_STREAMS_PER_SESSION)) return cur;
      cur.close(); // its stream IDs are used up: open streams finish, new ones go to a new session
    }
    this.started = 1;
    const s = http2.connect(this.origin, { ...this.options.tls, settings: { enablePush: false } });
    const timer = setTimeout(() => {
      s.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, this.options.connectTimeout);
    s.once('connect', () => clearTimeout(timer));
    const forget = (): void => {
      clearTimeout(timer);
      if (this.session === s) this.session = undefined;
    };
    s.on('error', forget);
    s.on('goaway', forget);
    s.on('close', forget);
    this.session = s;
    return s;
  }
}

/** One request/response exchange on a stream. */
class H2Call {
  private readonly session: http2.ClientHttp2Session;
  private readonly opts: Dispatcher.DispatchOptions;
  private readonly handler: Handler;
  private stream: http2.ClientHttp2Stream | undefined;
  private done = false;
  private headed = false;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(session: http2.ClientHttp2Session, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.session = session;
    this.opts = opts;
    this.handler = handler;
  }

  start(): void {
    const { headers, grpcTimeout } = requestHeaders(this.opts);
    const body = this.opts.body ?? null;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.request(headers, { endStream: body === null });
    } catch (err) {
      return this.fail(err as Error);
    }
    this.stream = stream;
    this.handler.onConnect?.((err) => this.fail(err ?? new Error('aborted')));
    if (this.done) return;
    this.arm(this.opts.headersTimeout, 'UND_ERR_HEADERS_TIMEOUT');
    if (grpcTimeout !== undefined && grpcTimeout <= MAX_TIMER_MS) {
      this.deadlineTimer = setTimeout(() => this.deadline(), grpcTimeout);
      this.deadlineTimer.unref();
    }
    stream.on('response', (h, flags) => this.onResponse(h, flags));
    stream.on('data', (c: Buffer) => this.onData(c));
    let trailers: string[] | null = null;
    stream.on('trailers', (t) => (trailers = flatten(t, false).headers));
    stream.on('end', () => this.complete(trailers));
    stream.on('error', (err) => this.fail(err));
    stream.on('close', () => {
      if (!this.done)
        this.fail(Object.assign(new Error(`stream reset (${stream.rstCode})`), { code: 'UND_ERR_SOCKET' }));
    });
    if (body !== null) void this.pump(body, stream);
  }

  private onResponse(h: http2.IncomingHttpHeaders, flags: number): void {
    if (this.done) return;
    this.clear();
    const status = Number(h[':status']);
    const trailersOnly = (flags & NGHTTP2_FLAG_END_STREAM) !== 0 && h['grpc-status'] !== undefined;
    const { headers, trailers } = flatten(h, trailersOnly);
    this.headed = true;
    const raw = headers.map((v) => Buffer.from(v, 'latin1'));
    const go = this.handler.onHeaders?.(status, raw, () => this.resume(), '');
    if (this.done) return;
    if (trailersOnly) return this.complete(trailers);
    if (go === false) this.stream!.pause();
    this.arm(this.opts.bodyTimeout, 'UND_ERR_BODY_TIMEOUT');
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.arm(this.opts.bodyTimeout, 'UND_ERR_BODY_TIMEOUT');
    if (this.handler.onData?.(chunk) === false) this.stream!.pause();
  }

  private resume(): void {
    this.stream?.resume();
  }

  /** grpc-timeout passed: cancel upstream and end the call with DEADLINE_EXCEEDED. */
  private deadline(): void {
    if (this.done) return;
    this.stream?.close(NGHTTP2_CANCEL);
    if (!this.headed) {
      this.headed = true;
      this.handler.onHeaders?.(
        200,
        [Buffer.from('content-type'), Buffer.from('application/grpc')],
        () => {},
        '',
      );
    }
    this.complete(['grpc-status', '4', 'grpc-message', 'Deadline Exceeded']);
  }

  private complete(trailers: string[] | null): void {
    if (this.done) return;
    // A stream that ends before any response head (the instance went away mid-request) is a
    // failure: a handler may only complete what it got a head for (undici's request() crashed).
    if (!this.headed)
      return this.fail(
        Object.assign(new Error('stream ended without a response'), { code: 'UND_ERR_SOCKET' }),
      );
    this.done = true;
    this.clear();
    clearTimeout(this.deadlineTimer);
    this.handler.onComplete?.(trailers ?? []);
  }

  private fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.clear();
    clearTimeout(this.deadlineTimer);
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    if (cause?.code !== undefined && (err as NodeJS.ErrnoException).code === 'ERR_HTTP2_STREAM_CANCEL')
      err = cause; // the session failed (refused, reset): keep its code for the retry rules
    if (this.stream !== undefined && !this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
    this.handler.onError?.(err);
  }

  private arm(ms: number | null | undefined, code: string): void {
    this.clear();
    if (!ms) return;
    this.timer = setTimeout(() => this.fail(Object.assign(new Error(code), { code })), ms);
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Streams the request body with backpressure; a failing body (over max_body) fails the call. */
  private async pump(body: NonNullable<Dispatcher.DispatchOptions['body']>, stream: http2.ClientHttp2Stream) {
    try {
      if (typeof body === 'string' || body instanceof Uint8Array) return void stream.end(body);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (this.done) return;
        if (!stream.write(chunk)) await drained(stream);
      }
      if (!this.done) stream.end();
    } catch (err) {
      this.fail(err as Error);
    }
  }
}

function drained(stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const go = (): void => {
      stream.off('drain', go);
      stream.off('close', go);
      resolve();
    };
    stream.on('drain', go);
    stream.on('close', go);
  });
}

/** The request's HTTP/2 header block from the gateway's flat list (Host becomes :authority). */
function requestHeaders(opts: Dispatcher.DispatchOptions): {
  headers: OutgoingHttpHeaders;
  grpcTimeout?: number;
} {
  const headers: OutgoingHttpHeaders = { ':method': opts.method, ':path': opts.path };
  const given = opts.headers as string[] | Record<string, string> | null | undefined;
  // the forward stage passes a flat list; request() callers (health probes) an object
  const flat = given == null || Array.isArray(given) ? given : Object.entries(given).flat();
  let grpcTimeout: number | undefined;
  if (Array.isArray(flat))
    for (let i = 0; i < flat.length; i += 2) {
      const name = String(flat[i]).toLowerCase();
      const value = String(flat[i + 1]);
      if (name === 'host') headers[':authority'] = value;
      else if (DROP.has(name)) continue;
      else if (headers[name] === undefined) headers[name] = value;
      else headers[name] = ([] as string[]).concat(headers[name] as string | string[], value);
      if (name === 'content-type' && value.startsWith('application/grpc')) headers.te = 'trailers';
      if (name === 'grpc-timeout') grpcTimeout = parseGrpcTimeout(value);
    }
  return { headers, grpcTimeout };
}

/** Flat name/value lists of a header block without pseudo-headers; a trailers-only block split in two. */
function flatten(
  h: http2.IncomingHttpHeaders,
  splitGrpc: boolean,
): { headers: string[]; trailers: string[] } {
  const headers: string[] = [];
  const trailers: string[] = [];
  for (const name in h) {
    if (name.charCodeAt(0) === 58) continue;
    const v = h[name];
    // trailers-only: every field but the head's own is trailing metadata to a gRPC client
    const into = splitGrpc && !HEAD_FIELDS.has(name) ? trailers : headers;
    if (Array.isArray(v)) for (const x of v) into.push(name, x);
    else if (v !== undefined) into.push(name, String(v));
  }
  return { headers, trailers };
}
