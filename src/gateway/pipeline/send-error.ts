/** JSON error replies of the gateway: `{ error: { code, message, requestId } }` with the code's status. */
import type http from 'node:http';
import { ERRORS, formatMessage, type ErrorCode } from '../../core/errors.js';

/** How an error reply is sent. */
export interface SendErrorOptions {
  /** Echoed in the body and as X-Request-Id ('' when none is known yet). */
  requestId: string;
  /** Extra response headers (Retry-After, RateLimit-*). */
  headers?: Record<string, string>;
  /** Overrides the code's status (admission's 429/503). */
  status?: number;
  /** Writes the body in another shape (an AI service answers in its client's API format). */
  errorBody?: ErrorBodyFn;
  /** The request path, for `errorBody`. */
  path?: string;
}

/** An error body in a service's own shape: the JSON text for a request path, code, status and message. */
export type ErrorBodyFn = (path: string, e: { code: ErrorCode; status: number; message: string }) => string;

/** Writes a JSON error `{ error: { code, message, requestId } }` with the code's status. */
export function sendError(
  res: http.ServerResponse,
  code: ErrorCode,
  params: Record<string, unknown>,
  options: SendErrorOptions,
): void {
  const requestId = options.requestId;
  const message = formatMessage(ERRORS[code].message, params);
  const status = options.status ?? ERRORS[code].status;
  const body =
    options.errorBody === undefined
      ? JSON.stringify({ error: { code, message, requestId } })
      : options.errorBody(options.path ?? '/', { code, status, message });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'cache-control': 'no-store',
  };
  if (options.headers) Object.assign(headers, options.headers);
  res.writeHead(status, headers);
  res.end(body);
}

/** Answers 502 for an unexpected exception (when the head is not out yet) or cuts the connection. */
export function internalError(res: http.ServerResponse, err: unknown): void {
  if (!res.headersSent && !res.destroyed) {
    res.shouldKeepAlive = false;
    sendError(
      res,
      'LS_ERR_GATEWAY_UPSTREAM_ERROR',
      { reason: `internal: ${(err as Error)?.message ?? String(err)}` },
      { requestId: '' },
    );
  } else {
    res.destroy();
  }
}
