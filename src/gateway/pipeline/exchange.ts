/**
 * One client request and its upstream attempts: the object every stage reads and writes. It is
 * created in the server's request handler, walks the pipeline with `next()`, and ends exactly once
 * with `finish()`, which runs the `leave` of every stage it entered (innermost first).
 *
 * It is also undici's dispatch handler (onConnect/onHeaders/onData/onComplete/onError, delegated to
 * the forward stage), so an attempt allocates no handler and no closures; fields are all declared
 * here with fixed types so every exchange has one V8 shape.
 *
 * Lifecycle: created → routed → (validated) → recorded (in flight) → admitted → picked → forwarded
 *   → finished; a retry goes back to the stage that starts an attempt (pick) with the failed
 *   instance excluded. Any stage may end it early with a reply.
 */
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import { ERRORS, type ErrorCode } from '../../core/errors.js';
import type { Route } from '../router.js';
import type { Permit } from '../seams.js';
import type { UpstreamInstance } from '../upstream-pool.js';
import {
  upstreamComplete,
  upstreamConnect,
  upstreamData,
  upstreamError,
  upstreamHeaders,
} from './forward-stage.js';
import { grpcReply, passTrailers } from '../grpc/grpc-status.js';
import type { GatewayState, RouteData } from './gateway-state.js';
import { sendError } from './send-error.js';

/** How `Exchange.reply` answers besides the code's defaults. */
export interface ReplyOptions {
  headers?: Record<string, string>;
  status?: number;
  /** Adds Retry-After (delay-seconds, RFC 9110 §10.2.3) unless `headers` has one. */
  retryAfterS?: number;
}

const NO_HEADERS: string[] = [];

/** One request on its way through the pipeline (see the module comment). */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly g: GatewayState;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Arrival time on the gateway's clock (ms). */
  readonly start: number;
  /**
   * The client's address: the peer's, or behind a trusted proxy the one it forwarded (set by the
   * route stage). Rate-limit and hash keys, forwarding headers and the access log use it.
   */
  clientIp: string;
  /** The address the request came from (the TCP peer, IPv4-mapped prefix removed). */
  readonly peerIp: string;
  /** The client sent Expect: 100-continue and waits for our 100 before its body. */
  expectContinue: boolean;
  /** Index of the next stage to enter. */
  step = 0;
  /** How many stages were entered (their `leave` runs at the end). */
  entered = 0;
  /** The stage a retry goes back to (set by the stage that starts an attempt). */
  attemptStep = -1;

  // route: the request as it will be forwarded
  requestId = '';
  /** Flat [name, value, ...] request headers for the upstream (hop-by-hop removed, forwarding added). */
  headers: string[] = NO_HEADERS;
  contentLength: string | undefined = undefined;
  chunked = false;
  method = '';
  /** The origin-form request target (path and query), as sent upstream. */
  url = '';
  /** The path in its RFC 3986 normal form (core/normalise-path.ts): what routes and validation see. */
  path = '';
  /** Index of '?' in `url`, or -1. */
  query = -1;
  /** Set by the route stage; every later stage may rely on it. */
  route: Route<RouteData> = undefined as unknown as Route<RouteData>;

  /** A gRPC call (HTTP/2, application/grpc): refusals are trailers-only gRPC statuses, the body streams. */
  grpc = false;

  // authenticate: who the request's API key belongs to ('' when the route has no `auth`)
  consumer = '';
  /** The key's public id (the usage ledger's key_id); never the key itself. */
  keyId = '';

  // validate: the body as it goes upstream (a stream, a counted stream, or a buffer read whole)
  body: Dispatcher.DispatchOptions['body'] = null;
  bytesIn = 0;
  /**
   * When the request was ready to go on (its body read, when buffered): admission and the signals'
   * latency count from here, so a slow upload is neither queueing demand nor service latency.
   */
  readyAt: number;

  // admit
  permit: Permit | undefined = undefined;
  /** The route's own admission permit, when the route sets limits of its own. */
  routePermit: Permit | undefined = undefined;
  /** RateLimit-* headers from admission, added to the response. */
  admitHeaders: Record<string, string> | undefined = undefined;
  queuedMs = 0;
  /** Why the request was turned away before reaching an upstream (signals' shed reason). */
  shedReason = '';

  // pick and forward
  inst: UpstreamInstance | undefined = undefined;
  /** The instance a retry must avoid. */
  exclude: UpstreamInstance | undefined = undefined;
  firstInstance = '';
  lastInstance = '';
  attempts = 0;
  attemptStart = 0;
  dispatched = false;
  upstreamMs = 0;
  status = 0;
  bytesOut = 0;
  /** Body bytes of a sized response not yet passed on (-1: unsized or unknown). */
  unsent = -1;
  /** The chunk that completes a sized body, held for `res.end(chunk)` in onComplete. */
  held: Buffer | undefined = undefined;
  abortFn: ((err?: Error) => void) | undefined = undefined;
  resumeFn: (() => void) | undefined = undefined;
  /** Bound lazily: only responses that hit backpressure need it. */
  onDrain: (() => void) | undefined = undefined;
  retrying = false;
  clientGone = false;
  responded = false;

  // the end
  finished = false;
  /** When the exchange ended, and the status it is recorded with (499: the client left first). */
  endedAt = 0;
  outcome = 0;

  constructor(g: GatewayState, req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean) {
    this.g = g;
    this.req = req;
    this.res = res;
    this.start = g.clock.now();
    this.readyAt = this.start;
    this.peerIp = clientIpOf(req.socket.remoteAddress);
    this.clientIp = this.peerIp;
    this.expectContinue = expectContinue;
  }

  /** Enters the next stage (nothing after the last). */
  next(): void {
    const stage = this.g.pipeline.stages[this.step++];
    if (stage === undefined) return;
    if (this.step > this.entered) this.entered = this.step;
    stage.enter(this);
  }

  /** Starts another attempt at the attempt stage, avoiding `exclude` when others exist. */
  retry(exclude: UpstreamInstance | undefined): void {
    this.exclude = exclude;
    this.step = this.attemptStep;
    this.next();
  }

  /**
   * Ends the exchange once: fixes its outcome, then runs `leave` of every stage it entered. `now`:
   * the caller's fresh reading of the gateway's clock, if it has one.
   */
  finish(now?: number): void {
    if (this.finished) return;
    this.finished = true;
    this.endedAt = now ?? this.g.clock.now();
    this.outcome = this.status || (this.res.destroyed ? 499 : 0);
    const stages = this.g.pipeline.stages;
    for (let i = this.entered - 1; i >= 0; i--) stages[i]!.leave?.(this);
  }

  /** Answers with a JSON error unless the head is already out (or the client gone). */
  reply(code: ErrorCode, params: Record<string, unknown>, options?: ReplyOptions): void {
    if (this.res.headersSent || this.res.destroyed) return;
    if (this.grpc && grpcReply(this, code, params, options)) return;
    let headers = options?.headers;
    const retryAfterS = options?.retryAfterS;
    if (
      retryAfterS !== undefined &&
      (headers === undefined || !('retry-after' in headers || 'Retry-After' in headers))
    ) {
      headers = { ...headers, 'retry-after': String(Math.max(0, Math.ceil(retryAfterS))) };
    }
    const status = options?.status;
    this.status = status ?? ERRORS[code].status;
    // An AI service answers in its client's format (OpenAI's or Anthropic's error object).
    const errorBody = (this.route as Route<RouteData> | undefined)?.data.svc.errorBody;
    sendError(this.res, code, params, {
      requestId: this.requestId,
      headers,
      status,
      errorBody,
      path: this.path,
    });
  }

  /** Client went away: abort the upstream side (an SSE stream would otherwise run on). */
  onClientClose(): void {
    if (this.finished) return;
    this.clientGone = true;
    // Still queued in admission: the admit stage notices res.destroyed and releases at once.
    if (this.abortFn !== undefined) this.abortFn(new Error('client closed'));
  }

  onConnect(abort: (err?: Error) => void): void {
    upstreamConnect(this, abort);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    return upstreamHeaders(this, statusCode, rawHeaders, resume);
  }

  onData(chunk: Buffer): boolean {
    return upstreamData(this, chunk);
  }

  onComplete(trailers: string[] | null): void {
    if (trailers !== null && trailers.length > 0) passTrailers(this, trailers);
    upstreamComplete(this);
  }

  onError(err: Error): void {
    upstreamError(this, err);
  }
}

/** The client address without the IPv4-mapped prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function clientIpOf(address: string | undefined): string {
  const a = address ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
