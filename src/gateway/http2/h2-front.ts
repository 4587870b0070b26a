/**
 * HTTP/2 (and TLS) on the gateway's one listener, in front of the node:http server:
 * - Cleartext: the first bytes of a connection decide. The HTTP/2 connection preface
 *   (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, RFC 9113 §3.4: h2c with prior knowledge) hands the socket to
 *   a node:http2 server, anything else to the HTTP/1.1 server (the bytes read are put back).
 * - TLS: a tls.Server (never listening itself) terminates the connection; ALPN (RFC 7301) picks
 *   `h2` or `http/1.1` and the decrypted socket goes to the matching server.
 * Both servers call the same request handler, so every pipeline stage sees an HTTP/2 stream as a
 * request (node's compat Http2ServerRequest/Response; see h2-request.ts for the header mapping).
 *
 * A connection's path: accepted → (refused: its address is blocked after a flood) → (TLS
 * handshake) → sniffed → h1 | h2 session → closed. HTTP/2 sessions are tracked so a graceful close
 * sends GOAWAY and lets their streams finish.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../core/clock.js';
import type { TrustedProxies } from '../trusted-proxies.js';
import { FloodPenalty, type FloodPenaltyOptions, type Penalty } from './flood-penalty.js';
import { H2Guard, type FloodKind, type H2GuardOptions } from './h2-guard.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** HTTP/2 settings and protections of the listener. */
export interface Http2Options {
  /** Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS; default 100). */
  max_concurrent_streams?: number;
  /** Flood limits per connection (rapid reset, PING, SETTINGS). */
  guard?: H2GuardOptions;
  /** A connection exceeded a flood limit and was sent GOAWAY (for logs and alerts). */
  onFlood?: (kind: FloodKind, peer: string) => void;
  /**
   * After a flood, new connections from the offending address are refused at accept (socket
   * destroyed before any TLS or HTTP/2 work) for a cool-off that doubles on each repeat offence
   * (flood-penalty.ts). Unset or `baseMs: 0`: no penalty. Trusted proxies are never blocked.
   */
  block?: FloodPenaltyOptions;
  /** An address was blocked: once per offence, not per refused connection (for logs and alerts). */
  onBlock?: (peer: string, penalty: Penalty) => void;
}

/** What the front needs from the gateway. */
export interface FrontOptions {
  http2?: Http2Options;
  /** The TLS server (tls-front.ts) when the listener speaks TLS. */
  tls?: tls.Server;
  /** Header list size limit (SETTINGS_MAX_HEADER_LIST_SIZE; the HPACK-bomb guard). */
  maxHeaderBytes: number;
  /** A connection that sends nothing for this long is closed. */
  firstByteTimeoutMs: number;
  /**
   * An HTTP/2 connection with no open stream and no frame either way for this long is sent GOAWAY
   * and closed, as node:http closes an idle keep-alive connection (keep_alive_timeout); 0: never.
   */
  idleTimeoutMs: number;
  clock: Clock;
  /** `trusted_proxies`: peers never blocked after a flood (every client behind them shares it). */
  trusted?: TrustedProxies;
}

/** The listener's HTTP/2 side, for closing. */
export interface Front {
  /** Open HTTP/2 sessions. */
  readonly sessions: ReadonlySet<http2.ServerHttp2Session>;
  /** GOAWAY to every session; their open streams finish. */
  closeIdle(): void;
  /** Cuts every session. */
  destroyAll(): void;
  /** Connections refused at accept because their address was blocked after a flood. */
  readonly refused: number;
  /** Hands a socket (decrypted, when TLS) to the HTTP/1.1 server as a new connection. */
  toH1(socket: Socket): void;
}

const ignore = (): void => {};

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The compat response with the two members the HTTP/1.1 pipeline reads that it lacks. */
class GatewayH2Response extends http2.Http2ServerResponse {
  /** Read by HTTP/1.1 paths (closing after an unread body); a stream has no keep-alive. */
  shouldKeepAlive = true;
}
// `destroyed`: the pipeline's "client gone" test (Writable's in the typings, absent at run time).
Object.defineProperty(GatewayH2Response.prototype, 'destroyed', {
  get(this: GatewayH2Response) {
    return this.stream.destroyed;
  },
});

/**
 * Takes over `server`'s connections: sniffs cleartext ones for the HTTP/2 preface (when http2 is
 * on) and terminates TLS (when `tls` is given), then hands each to the HTTP/1.1 or HTTP/2 server.
 */
export function attachFront(server: http.Server, options: FrontOptions, onRequest: Handler): Front {
  const h1Listeners = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  const toH1 = (s: Socket): void => {
    for (const l of h1Listeners) l.call(server, s);
  };
  const sessions = new Set<http2.ServerHttp2Session>();
  const penalty = penaltyOf(options);
  const h2 = options.http2 ? createH2Server(options, { sessions, penalty }, onRequest) : undefined;
  const toH2 = (s: Socket): void => void h2!.emit('connection', s);
  const secure = options.tls;
  // Every accepted socket until it closes: node:http's closeAllConnections knows only the ones it
  // was handed, not a TLS connection's raw socket nor one still being sniffed or shaking hands.
  const accepted = new Set<Socket>();
  server.prependListener('connection', (s: Socket) => {
    accepted.add(s);
    s.once('close', () => accepted.delete(s));
  });
  // Refused at accept: before the TLS handshake, the sniffing and nghttp2 see a byte of it.
  let refused = 0;
  const admit =
    (next: (s: Socket) => void) =>
    (s: Socket): void => {
      if (penalty === undefined || !penalty.blocked(peerOf(s), options.clock.now())) return next(s);
      refused++;
      s.destroy();
    };
  if (secure !== undefined) {
    secure.on('secureConnection', (s: tls.TLSSocket) =>
      s.alpnProtocol === 'h2' && h2 !== undefined ? toH2(s) : toH1(s),
    );
    server.on(
      'connection',
      admit((s: Socket) => void secure.emit('connection', s)),
    );
  } else if (h2 !== undefined) {
    server.on(
      'connection',
      admit((s: Socket) => sniff(s, options.firstByteTimeoutMs, { toH1, toH2 })),
    );
  } else {
    server.on('connection', admit(toH1));
  }
  return {
    get refused() {
      return refused;
    },
    toH1,
    sessions,
    closeIdle() {
      for (const s of sessions) if (!s.closed) s.close();
    },
    destroyAll() {
      for (const s of sessions) s.destroy();
      for (const s of accepted) s.destroy();
    },
  };
}

/** The peer's address, IPv4-mapped IPv6 reduced to IPv4 (as the gateway names clients). */
function peerOf(s: Socket): string {
  const a = s.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The penalty map when configured; an address it blocks is logged once per offence. */
function penaltyOf(
  options: FrontOptions,
): { blocked: FloodPenalty['blocked']; offend: (peer: string) => void } | undefined {
  const h2 = options.http2;
  if (h2?.block === undefined || h2.block.baseMs <= 0 || h2.guard === undefined) return undefined;
  const map = new FloodPenalty(h2.block);
  return {
    blocked: (peer, now) => map.blocked(peer, now),
    offend(peer) {
      if (options.trusted?.trusts(peer) === true) return;
      const p = map.offend(peer, options.clock.now());
      if (p !== undefined) h2.onBlock?.(peer, p);
    },
  };
}

/** Reads until the preface is told apart, puts the bytes back, and hands the socket on. */
function sniff(
  socket: Socket,
  timeoutMs: number,
  to: { toH1: (s: Socket) => void; toH2: (s: Socket) => void },
): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isH2 && n < PREFACE.length) return; // a prefix of the preface: wait for more
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    socket.pause();
    socket.unshift(seen);
    // node:http2 reads what is buffered on the socket itself (on the next tick); node:http parses
    // from the stream, which must flow again.
    if (isH2) return to.toH2(socket);
    to.toH1(socket);
    socket.resume();
  };
  const onError = (): void => void socket.destroy();
  const onClose = (): void => clearTimeout(timer);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
}

type PenaltyOf = ReturnType<typeof penaltyOf>;

function createH2Server(
  options: FrontOptions,
  state: { sessions: Set<http2.ServerHttp2Session>; penalty: PenaltyOf },
  onRequest: Handler,
): http2.Http2Server {
  const { sessions, penalty } = state;
  const h2opts = options.http2!;
  const h2 = http2.createServer({
    settings: {
      maxConcurrentStreams: h2opts.max_concurrent_streams ?? 100,
      maxHeaderListSize: options.maxHeaderBytes,
    },
    maxSessionMemory: 10,
    // Streams refused past max_concurrent_streams before the session is torn down (nghttp2 counts).
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 100,
  });
  const guards = new WeakMap<http2.ServerHttp2Session, H2Guard>();
  // node's compat layer would build a request and a response for every stream as it is parsed;
  // they are built here instead (h2Dispatch), so a guarded session builds them only for live streams.
  h2.on(
    'stream',
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _f: number, raw: string[]) => {
      const guard = guards.get(stream.session as http2.ServerHttp2Session);
      if (guard === undefined) return h2Dispatch(stream, { headers, raw }, onRequest);
      // Rapid reset: a stream is taken up on the next turn of the event loop, once the rest of
      // this read is parsed, so one the peer cancelled in the same packets (HEADERS + RST_STREAM)
      // costs no request object, route, admission or upstream request: only its count in the guard.
      // Until then the stream's errors (reset, refused when the session goes) are nobody's.
      stream.on('error', ignore);
      setImmediate(() => {
        if (guard.tripped === undefined && !stream.destroyed && !stream.aborted)
          h2Dispatch(stream, { headers, raw }, onRequest);
      });
    },
  );
  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
    const guard = guardSession(session, options, penalty);
    if (guard !== undefined) guards.set(session, guard);
    closeWhenIdle(session, options.idleTimeoutMs);
  });
  return h2;
}

/**
 * node:http2 never closes an idle session by itself: without this a client (or an attacker holding
 * sockets) could keep connections that carry no stream open for ever. node's session timer counts
 * frames either way (PINGs included); when it fires with a stream still open (a quiet long call) the
 * session is left alone, and the timer starts again when its last stream closes.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, idleMs: number): void {
  if (!(idleMs > 0)) return;
  let open = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once('close', () => {
      // the timer may have fired (and been ignored) while the stream was open: start it again
      if (--open === 0 && !session.destroyed) session.setTimeout(idleMs);
    });
  });
  session.on('timeout', () => {
    if (open === 0 && !session.closed && !session.destroyed) session.close(); // GOAWAY NO_ERROR
  });
  session.setTimeout(idleMs);
}

/**
 * node's compat dispatch (onServerStream in lib/internal/http2/compat.js) for a server without
 * 'connect' or 'checkContinue' listeners: CONNECT is 405, an unknown Expect 417, 100-continue is
 * answered at once (RFC 9110 §10.1.1), and the request and response go to the handler.
 */
function h2Dispatch(
  stream: http2.ServerHttp2Stream,
  head: { headers: http2.IncomingHttpHeaders; raw: string[] },
  onRequest: Handler,
): void {
  const req = new http2.Http2ServerRequest(stream, head.headers, {}, head.raw);
  const res = new GatewayH2Response(stream);
  const expect = head.headers.expect;
  const refuse =
    head.headers[':method'] === 'CONNECT' ? 405 : expect !== undefined && expect !== '100-continue' ? 417 : 0;
  if (refuse !== 0) {
    res.statusCode = refuse;
    res.end();
    return;
  }
  if (expect !== undefined) res.writeContinue();
  onRequest(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
}

/** Counts resets, pings and settings of one session; over a limit: GOAWAY ENHANCE_YOUR_CALM. */
function guardSession(
  session: http2.ServerHttp2Session,
  options: FrontOptions,
  penalty: PenaltyOf,
): H2Guard | undefined {
  const limits = options.http2?.guard;
  if (limits === undefined) return undefined;
  const guard = new H2Guard(limits);
  const clock = options.clock;
  const trip = (kind: FloodKind): void => {
    if (guard.tripped !== undefined || !guard.hit(kind, clock.now()) || session.destroyed) return;
    const peer = session.socket === undefined ? '' : peerOf(session.socket as Socket);
    options.http2?.onFlood?.(kind, peer);
    penalty?.offend(peer);
    // GOAWAY now: once it is out (at the end of this read), nghttp2 ignores every newer stream.
    // The session is destroyed on the next turn, never from inside nghttp2's read callbacks
    // (node 20 aborts on its memory accounting when a session is destroyed mid-read).
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    setImmediate(() => session.destroy(undefined, NGHTTP2_ENHANCE_YOUR_CALM));
  };
  // 'aborted': the peer reset the stream (RST_STREAM) before it ended; our own resets do not count.
  if (limits.resets !== undefined)
    session.on('stream', (stream: http2.ServerHttp2Stream) => stream.on('aborted', () => trip('resets')));
  if (limits.pings !== undefined) session.on('ping', () => trip('pings'));
  if (limits.settings !== undefined) session.on('remoteSettings', () => trip('settings'));
  return guard;
}
