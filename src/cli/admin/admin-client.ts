/**
 * The admin API's client for the CLI: one request, and the one-line errors for an unreachable API, a
 * refusal (the API's own code) and an answer that is not the admin API's JSON.
 */
import { request } from 'undici';
import { LuascaleError } from '../../core/errors.js';
import { resolveConnection, type Connection, type ConnOpts } from './admin-connection.js';

/** undici's connection-level failures: the API is not there (as opposed to a bug in the request). */
export function isNetworkError(err: unknown): boolean {
  const code = String((err as NodeJS.ErrnoException)?.code ?? '');
  return (
    code.startsWith('E') ||
    /^UND_ERR_(SOCKET|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|CLOSED|ABORTED)$/.test(code)
  );
}

/** The code of a failure (an errno or undici code), else its message. */
export function errorCode(err: unknown): string {
  return String((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? err);
}

/** An admin API error body: `{ error: { code, message } }` with a registry code that is not the gateway's. */
function apiError(json: any): { code: string; message: string } | null {
  const e = json?.error;
  if (typeof e?.code !== 'string' || typeof e?.message !== 'string') return null;
  // Any LS_ERR_ code (a newer server may know codes this CLI does not), but not the gateway's.
  if (!/^LS_ERR_[A-Z0-9_]+$/.test(e.code) || e.code.startsWith('LS_ERR_GATEWAY_')) return null;
  return e;
}

/** The start of a body, on one line, for a "this is not the admin API" message. */
function excerpt(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 80)}…` : one;
}

/** The answer at `base` is not a luascale admin API (LS_ERR_CLI_NOT_ADMIN). */
export function notAdmin(base: string, reason: string): LuascaleError {
  return new LuascaleError('LS_ERR_CLI_NOT_ADMIN', { url: base, reason });
}

/** One request to the admin API: `body` is sent as JSON. */
export interface AdminRequest {
  method: string;
  path: string;
  body?: unknown;
}

/**
 * Sends one request; an unreachable API or a non-HTTP answer become one-line errors. `bodyTimeout`
 * 0 waits for the body forever (an event stream).
 */
export async function send(c: Connection, { method, path, body }: AdminRequest, bodyTimeout = 10_000) {
  try {
    return await request(c.base + path, {
      method: method as 'GET',
      headers: {
        ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      headersTimeout: 10_000,
      bodyTimeout,
    });
  } catch (err) {
    const code = errorCode(err);
    if (code.startsWith('HPE_')) throw notAdmin(c.base, `not an HTTP answer: ${code}`);
    if (!isNetworkError(err)) throw err;
    throw new LuascaleError('LS_ERR_CLI_UNREACHABLE', { url: c.base, reason: code });
  }
}

/** Turns a failed answer into the admin API's own error, or says this is not the admin API. */
export function failure(
  c: Connection,
  { method, path }: AdminRequest,
  status: number,
  text: string,
): LuascaleError {
  const e = apiError(safeJson(text));
  if (!e) return notAdmin(c.base, `HTTP ${status} for ${method} ${path}${text ? `: ${excerpt(text)}` : ''}`);
  return new LuascaleError('LS_ERR_CLI_API', { method, path, code: e.code, reason: e.message, status });
}

/** A call of the admin API: the request and a check of the shape of a success. */
export interface AdminCall extends AdminRequest {
  valid?: (json: any) => boolean;
}

/**
 * Calls the admin API. 4xx/5xx become one-line errors with the API's code; an answer that is not
 * the admin API's JSON says so; `valid` checks the shape of a success so a stranger's 200 is caught too.
 */
export async function callAdmin(o: ConnOpts, req: AdminCall): Promise<any> {
  const { method, path, valid = (j) => typeof j === 'object' && j !== null } = req;
  const c = await resolveConnection(o);
  const res = await send(c, req);
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    if (!isNetworkError(err)) throw err;
    throw new LuascaleError('LS_ERR_CLI_UNREACHABLE', { url: c.base, reason: errorCode(err) });
  }
  if (res.statusCode >= 400) throw failure(c, req, res.statusCode, text);
  const type = String(res.headers['content-type'] ?? '');
  const json = safeJson(text);
  if (!type.includes('json') || json === undefined || !valid(json))
    throw notAdmin(
      c.base,
      `HTTP ${res.statusCode} for ${method} ${path} is not the expected JSON: ${excerpt(text) || '(empty)'}`,
    );
  return json;
}

/** `JSON.parse`, or undefined for text that is not JSON. */
export function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
