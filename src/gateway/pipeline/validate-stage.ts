/**
 * The validate stage: the request body's framing against the route's max_body (413), then, when the
 * route has a validator (OpenAPI import, off by default), the request against its operation (400
 * naming the field). A JSON or form body to validate is read whole, up to max_body, parsed and
 * checked, then sent upstream as that buffer; any other body up to `request_buffer` is read whole
 * too (so a slow upload holds no admission slot), and a larger one streams as it arrives (a chunked
 * one counted).
 *
 * Requests turned away here are counted as offered and shed in the signals but never reach the
 * record stage, so they have no access-log line (as before the pipeline existed).
 */
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import { FORM_MEDIA_TYPE, isJsonMediaType } from '../../core/media-types.js';
import { BodyTooLarge, countBody } from './body-limit.js';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';
import { templateParams } from './template-params.js';
import { shed } from './shed.js';

/** What a request validator sees (the OpenAPI importer compiles one per operation). */
export interface ValidatedRequest {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType?: string;
  body?: unknown;
  hasBody: boolean;
}

/**
 * Checks a request before it is admitted; null = valid, else the failing field (400), or
 * `status: 404` when the request matches no operation of the document.
 */
export type RequestValidatorFn = (
  req: ValidatedRequest,
) => null | { field: string; message: string; status?: 404 | 415 };

/** validate: body framing, then the route's validator when it has one. */
export const validateStage: Stage = { name: 'validate', enter: validate };

function validate(ex: Exchange): void {
  if (ex.route.data.validate === undefined) return frame(ex);
  const hasBody = (ex.contentLength !== undefined && ex.contentLength !== '0') || ex.chunked;
  const ct = String(ex.req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  const parts: ValidatedRequest = {
    pathParams: templateParams(ex.route.template, ex.path),
    query: new URLSearchParams(ex.query < 0 ? '' : ex.url.slice(ex.query + 1)),
    headers: ex.req.headers,
    contentType: ct || undefined,
    hasBody,
  };
  // A JSON body is read whole and parsed; a form body is read too, and handed over as its text.
  if (!hasBody || !(ct === FORM_MEDIA_TYPE || isJsonMediaType(ct))) {
    if (check(ex, parts)) frame(ex);
    return;
  }
  const maxBody = ex.route.data.maxBody;
  if (Number(ex.contentLength ?? 0) > maxBody) return tooLarge(ex);
  if (ex.expectContinue) {
    ex.res.writeContinue();
    ex.expectContinue = false;
  }
  readWhole(ex, parts);
}

/** Reads a JSON or form body whole (up to max_body), validates it, and sends it on as that buffer. */
function readWhole(ex: Exchange, parts: ValidatedRequest): void {
  const req = ex.req;
  const maxBody = ex.route.data.maxBody;
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > maxBody && !failed) {
      failed = true;
      tooLarge(ex);
      req.resume();
    } else if (!failed) chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    const body = Buffer.concat(chunks);
    try {
      const text = body.toString('utf8');
      parts.body = parts.contentType === FORM_MEDIA_TYPE ? text : JSON.parse(text);
    } catch (err) {
      return reject(ex, 'body', `is not valid JSON (${(err as Error).message})`);
    }
    if (!check(ex, parts)) return;
    ex.body = body;
    ex.bytesIn = body.length;
    ex.next();
  });
  req.on('error', () => {});
}

/** Runs the route's validator; answers 400 (415 for a media type the operation does not take) and returns false when the request fails it. */
function check(ex: Exchange, parts: ValidatedRequest): boolean {
  const v = ex.route.data.validate!(parts);
  if (v === null) return true;
  // A CORS preflight asks whether the real request may be sent (Fetch §4.8); documents seldom list
  // OPTIONS, and refusing it would refuse the browser's real request too: the instance answers it.
  if (v.status === 404 && isPreflight(ex)) return true;
  if (v.status === 404) {
    if (parts.hasBody) ex.res.shouldKeepAlive = false; // the unread body makes the connection unusable
    shed(ex, 'invalid_request', 'LS_ERR_GATEWAY_NO_OPERATION', { method: ex.method, path: ex.path });
  } else reject(ex, v.field, v.message, v.status === 415);
  return false;
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (Fetch standard §4.8). */
function isPreflight(ex: Exchange): boolean {
  const h = ex.req.headers;
  return (
    ex.method === 'OPTIONS' && h.origin !== undefined && h['access-control-request-method'] !== undefined
  );
}

function reject(ex: Exchange, field: string, message: string, unsupportedMedia = false): void {
  const hasBody = (ex.contentLength !== undefined && ex.contentLength !== '0') || ex.chunked;
  if (hasBody) ex.res.shouldKeepAlive = false; // the unread body makes the connection unusable
  const code = unsupportedMedia ? 'LS_ERR_GATEWAY_UNSUPPORTED_MEDIA_TYPE' : 'LS_ERR_GATEWAY_INVALID_REQUEST';
  shed(ex, 'invalid_request', code, { field, message });
}

/** A body over max_body found while validating: refused before it is counted as offered. */
function tooLarge(ex: Exchange): void {
  ex.res.shouldKeepAlive = false;
  ex.reply('LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: ex.route.data.maxBody });
  ex.finish();
}

/**
 * Body framing: the declared length against max_body, then the body itself. A body up to the
 * route's `request_buffer` is read whole before the request goes on (nginx's default
 * `proxy_request_buffering on`), so a slow upload takes no admission slot and is not in flight in the
 * signals while it arrives; a larger one streams (a chunked one counted on the way). A client that
 * sent `Expect: 100-continue` waits for admission before sending, so its body streams as before.
 */
function frame(ex: Exchange): void {
  // Framing was validated by node's parser (CL+TE and duplicate CL never get here).
  const cl = ex.contentLength;
  const d = ex.route.data;
  const maxBody = d.maxBody;
  // A gRPC call's body is a stream of messages (client or bidirectional streaming): never held back.
  const buffer = ex.expectContinue || ex.grpc ? 0 : d.requestBuffer;
  if (cl !== undefined && cl !== '0') {
    const n = Number(cl);
    if (n > maxBody) {
      ex.res.shouldKeepAlive = false; // the unread body makes the connection unusable
      return shed(ex, 'body_too_large', 'LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: maxBody });
    }
    ex.bytesIn = n;
    if (n <= buffer) return readBody(ex, Math.min(buffer, maxBody));
    ex.body = ex.req;
  } else if (ex.chunked) {
    if (buffer > 0) return readBody(ex, Math.min(buffer, maxBody));
    // undici streams any async iterable as a chunked body (its typings list only Readable).
    ex.body = countBody(ex, ex.req, maxBody) as unknown as Dispatcher.DispatchOptions['body'];
  }
  ex.next();
}

/**
 * Reads the body into memory up to `limit` bytes, then goes on with it as a buffer. A chunked body
 * that outgrows the limit goes on as a stream of what was read followed by the rest (413 past
 * max_body). A client that leaves mid-upload ends the exchange unanswered, never counted as offered.
 */
function readBody(ex: Exchange, limit: number): void {
  const req = ex.req;
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const onData = (c: Buffer) => {
    size += c.length;
    chunks.push(c);
    if (size <= limit || done) return;
    // Outgrew the buffer (chunked only: a declared length was checked): stream from here.
    done = true;
    req.pause();
    req.off('data', onData);
    req.off('end', onEnd);
    ex.bytesIn = 0;
    ex.body = streamAfter(ex, chunks, req) as unknown as Dispatcher.DispatchOptions['body'];
    goOn(ex);
  };
  const onEnd = () => {
    if (done) return;
    done = true;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    ex.body = body;
    ex.bytesIn = body.length;
    goOn(ex);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', () => {});
  req.on('close', () => {
    if (done) return;
    done = true; // the client left (or node's request timeout cut it) before the body was whole
    ex.finish();
  });
}

function goOn(ex: Exchange): void {
  ex.readyAt = ex.g.clock.now();
  if (ex.res.destroyed) return ex.finish();
  ex.next();
}

/** The chunks read so far, then the rest of the request, counted against max_body. */
async function* streamAfter(ex: Exchange, head: Buffer[], req: http.IncomingMessage): AsyncGenerator<Buffer> {
  for (const c of head) {
    ex.bytesIn += c.length;
    yield c;
  }
  head.length = 0;
  const max = ex.route.data.maxBody;
  if (ex.bytesIn > max) throw new BodyTooLarge(String(max));
  yield* countBody(ex, req, max);
}
