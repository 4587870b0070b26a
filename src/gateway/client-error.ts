/**
 * Malformed requests never reach 'request': node's parser reports them as 'clientError'. The
 * gateway answers those here in JSON (400, 408 or 431), then closes; node's default is plain text.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, formatMessage, type ErrorCode } from '../core/errors.js';

/** Answers a parser error on the raw socket, or destroys it when a response is already under way. */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket, requestTimeoutMs: number): void {
  const msg = socket as Socket & { _httpMessage?: http.ServerResponse };
  if (!socket.writable || (msg._httpMessage && msg._httpMessage.headersSent)) {
    socket.destroy();
    return;
  }
  let status = 400;
  let code: ErrorCode = 'LS_ERR_GATEWAY_BAD_REQUEST';
  let params: Record<string, unknown> = {
    reason:
      err.code === 'HPE_INVALID_TRANSFER_ENCODING' || err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH'
        ? err.message.replace(/^Parse Error: /, '')
        : 'malformed request',
  };
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'LS_ERR_GATEWAY_HEADERS_TOO_LARGE';
    params = {};
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'LS_ERR_GATEWAY_REQUEST_TIMEOUT';
    params = { ms: requestTimeoutMs };
  }
  const body = JSON.stringify({ error: { code, message: formatMessage(ERRORS[code].message, params) } });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
