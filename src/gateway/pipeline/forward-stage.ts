/**
 * The forward stage: sends the request to the picked instance through its undici pool and streams
 * the response back with backpressure, never buffering. The exchange is undici's dispatch handler;
 * its handler methods land in the `upstream*` functions here. Failures before any response byte are
 * retried through the pick stage when RFC 9110 §9.2.2 allows it (idempotent, no body) and the
 * retry budget has room; after the head is out, a failure cuts the client connection.
 */
import type { Dispatcher } from 'undici';
import { forwardResponseHeaders } from '../forward-headers.js';
import { BodyTooLarge } from './body-limit.js';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';

/** forward: the upstream exchange itself. */
export const forwardStage: Stage = { name: 'forward', enter: forward };

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
// Errors where the request never reached the upstream application (safe to retry idempotently).
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// The connection died under a sent request (killed instance, RST): retried only before a response.
const RESET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const TIMEOUT_ERRORS = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Signals the retry path inside an aborted attempt. */
class RetrySignal extends Error {}

function forward(ex: Exchange): void {
  const d = ex.route.data;
  const inst = ex.inst!;
  d.svc.pool.forwarder(inst, d.connectTimeout).dispatch(
    {
      origin: inst.url,
      path: ex.url,
      method: ex.method as Dispatcher.HttpMethod,
      headers: ex.headers,
      body: ex.body,
      headersTimeout: d.responseTimeout,
      bodyTimeout: d.idleTimeout,
      upgrade: null,
    },
    ex,
  );
}

/** undici onConnect: keep the abort; a client already gone aborts at once. */
export function upstreamConnect(ex: Exchange, abort: (err?: Error) => void): void {
  ex.abortFn = abort;
  if (ex.res.destroyed) abort(new Error('client closed'));
}

/** undici onHeaders: the response head goes to the client (or the attempt is retried). */
export function upstreamHeaders(
  ex: Exchange,
  statusCode: number,
  rawHeaders: Buffer[],
  resume: () => void,
): boolean {
  if (statusCode < 200) return true; // informational responses are per hop (RFC 9110 §15.2)
  const inst = ex.inst!;
  // Retry a 503 from an instance we are draining, for idempotent requests without a body.
  if (statusCode === 503 && inst.state !== 'ready' && canRetry(ex)) {
    ex.retrying = true;
    ex.abortFn!(new RetrySignal('draining'));
    return false;
  }
  ex.status = statusCode;
  ex.upstreamMs = ex.g.clock.now() - ex.attemptStart;
  const res = ex.res;
  if (res.destroyed) return false;
  try {
    const version = ex.route.data.svc.pool.protocol === 'h1' ? '1.1' : '2.0';
    const out = forwardResponseHeaders(rawHeaders, ex.requestId, ex.g.forward.via, version);
    const extra = ex.admitHeaders;
    if (extra !== undefined) for (const k in extra) out.push(k, extra[k]!);
    res.writeHead(statusCode, out);
    // A body of unknown length (SSE, chunked streams) may trickle: send the head now so the
    // client sees the response start; sized bodies follow at once and go out with the head.
    const length = contentLength(out);
    if (length < 0) res.flushHeaders();
    ex.unsent = length;
  } catch {
    // The upstream sent a header node refuses to write: treat as a malformed upstream.
    ex.status = 0;
    ex.abortFn!(new Error('invalid upstream header'));
    return false;
  }
  ex.responded = true;
  ex.resumeFn = resume;
  return true;
}

/** undici onData: one chunk to the client; false pauses undici until the client drains. */
export function upstreamData(ex: Exchange, chunk: Buffer): boolean {
  ex.bytesOut += chunk.length;
  // The chunk that completes a sized body is held for onComplete, which parsers call next in the
  // same pass: `res.end(chunk)` then writes head and body in one go, without node:http's write()
  // path and its nextTick uncork (~3 % of the gateway's CPU for a small response).
  if (chunk.length === ex.unsent && ex.held === undefined) {
    ex.held = chunk;
    return true;
  }
  if (ex.unsent > 0) ex.unsent -= chunk.length;
  if (ex.held !== undefined) writeHeld(ex);
  if (ex.res.write(chunk)) return true;
  ex.res.once('drain', (ex.onDrain ??= () => ex.resumeFn?.()));
  return false;
}

/** undici onComplete: the response is whole. */
export function upstreamComplete(ex: Exchange): void {
  ex.abortFn = undefined;
  ex.resumeFn = undefined; // a late 'drain' must not resume a connection now serving another request
  const held = ex.held;
  if (held !== undefined) {
    ex.held = undefined;
    ex.res.end(held);
  } else ex.res.end();
  ex.finish(endAttempt(ex, ex.status >= 500));
}

/** undici onError: retry, cut the connection, or answer 502/504/413. */
export function upstreamError(ex: Exchange, err: Error): void {
  ex.abortFn = undefined;
  ex.resumeFn = undefined;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // A reset before any response byte (the instance was killed mid-request) is as retryable as a
  // refused connect for idempotent methods: RFC 9110 §9.2.2 allows the automatic retry.
  const connectError = CONNECT_ERRORS.has(code) || (RESET_ERRORS.has(code) && !ex.responded);
  const prev = ex.inst;
  const budget = ex.route.data.retryBudget;
  if (ex.retrying || err instanceof RetrySignal) {
    ex.retrying = false;
    endAttempt(ex, false);
    budget.tryWithdraw(ex.g.clock.now());
    return ex.retry(prev);
  }
  // Passive health counts upstream faults only, not a client that left or sent too much.
  endAttempt(ex, !ex.clientGone && !(err instanceof BodyTooLarge));
  if (ex.held !== undefined) writeHeld(ex);
  if (ex.responded || ex.res.headersSent) {
    // Mid-stream failure: the status line is gone, so cut the connection (the client sees a
    // truncated body rather than a wrong one).
    ex.res.destroy();
    return ex.finish();
  }
  if (ex.res.destroyed) return ex.finish();
  if (connectError && canRetry(ex) && budget.tryWithdraw(ex.g.clock.now())) return ex.retry(prev);
  failed(ex, err, code);
  ex.finish();
}

/** The error reply of a failed attempt that is not retried. */
function failed(ex: Exchange, err: Error, code: string): void {
  const d = ex.route.data;
  if (err instanceof BodyTooLarge) {
    ex.res.shouldKeepAlive = false;
    ex.reply('LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: d.maxBody });
  } else if (TIMEOUT_ERRORS.has(code)) {
    const ms =
      code === 'UND_ERR_CONNECT_TIMEOUT'
        ? d.connectTimeout
        : code === 'UND_ERR_BODY_TIMEOUT'
          ? d.idleTimeout
          : d.responseTimeout;
    ex.reply('LS_ERR_GATEWAY_UPSTREAM_TIMEOUT', { ms });
  } else {
    ex.reply('LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: code || err.message });
  }
}

/** Retries need an idempotent method (RFC 9110 §9.2.2), no request body, and budget. */
function canRetry(ex: Exchange): boolean {
  const d = ex.route.data;
  return (
    ex.body === null &&
    ex.attempts < 3 &&
    d.retries &&
    IDEMPOTENT.has(ex.method) &&
    d.retryBudget.balance(ex.g.clock.now()) >= 1
  );
}

/**
 * Ends the current attempt on its instance (in-flight count, latency EWMA, passive health);
 * returns the clock reading it used (the exchange's end when it ends here), or undefined.
 */
function endAttempt(ex: Exchange, failure: boolean): number | undefined {
  const inst = ex.inst;
  if (inst === undefined) return undefined;
  ex.inst = undefined;
  ex.lastInstance = inst.id;
  const now = ex.g.clock.now();
  ex.route.data.svc.pool.end(inst, failure, failure ? undefined : now - ex.attemptStart, now);
  return now;
}

/** A held final chunk goes out after all (another chunk or a failure came instead of onComplete). */
function writeHeld(ex: Exchange): void {
  const held = ex.held!;
  ex.held = undefined;
  ex.unsent = -1;
  if (!ex.res.destroyed) ex.res.write(held);
}

/** The response's Content-Length as a number (node refuses duplicates when writing), or -1. */
function contentLength(flat: string[]): number {
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!;
    if (k.length === 14 && k.toLowerCase() === 'content-length') {
      const n = Number(flat[i + 1]);
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    }
  }
  return -1;
}
