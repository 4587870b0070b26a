/**
 * The authenticate stage: on a route with `auth: key`, the request must carry an API key, as
 * `x-api-key: <key>` or `Authorization: Bearer <key>` (x-api-key first, so a client can send its
 * own Authorization on to the upstream). The route's `KeyVerifier` (the app backs it with the
 * store: only a hash of each key is kept) names the consumer; a missing, unknown or revoked key is
 * answered 401 with `WWW-Authenticate: Bearer` (RFC 9110 §11.6.1) and the gateway's error body.
 * The header that carried the key is removed from what is forwarded: the upstream never sees it.
 *
 * It runs right after `route`, so a request without a valid key is refused before its body is read
 * and before it spends a rate-limit token. A route without `auth` costs one property check here.
 * Refused requests are counted as offered and shed (`unauthenticated`) in the signals, like those
 * refused by `validate`, and have no access-log line.
 */
import type http from 'node:http';
import type { RateLimiter, RateLimitVerdict } from '../admission/rate-limiter.js';
import { rateLimitHeaders } from '../admission/rate-limit-headers.js';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';
import { shed } from './shed.js';

/** Who a valid key belongs to. */
export interface KeyIdentity {
  consumer: string;
  /** The key's public id (never the key itself). */
  keyId: string;
}

/** Checks a presented API key: the identity, or undefined when it is unknown or revoked. */
export interface KeyVerifier {
  verify(key: string): KeyIdentity | undefined | Promise<KeyIdentity | undefined>;
  /** The consumer's own rate limit (`consumers.<name>.limits`), kept per consumer; none when undefined. */
  limiterOf?(consumer: string): RateLimiter | undefined;
}

/** Where a request's API key came from (`both`: x-api-key, and Authorization bearing the same key). */
export type KeySource = 'x-api-key' | 'authorization' | 'both';

/** authenticate: API keys on routes with `auth: key`; sets `ex.consumer`. */
export const authenticateStage: Stage = { name: 'authenticate', enter: authenticate };

const BEARER = /^bearer +(\S+) *$/i;

/** The key a request presents and the header it came in, or undefined when it presents none. */
export function presentedKey(req: http.IncomingMessage): { key: string; source: KeySource } | undefined {
  const x = req.headers['x-api-key'];
  const a = req.headers.authorization;
  const m = typeof a === 'string' ? BEARER.exec(a) : null;
  if (typeof x === 'string' && x !== '') {
    const key = x.trim();
    // The same key in both headers: neither may reach the upstream.
    return { key, source: m !== null && m[1] === key ? 'both' : 'x-api-key' };
  }
  return m === null ? undefined : { key: m[1]!, source: 'authorization' };
}

/** The forwarded headers (flat name/value list) without the one that carried the key. */
export function withoutKeyHeader(headers: string[], source: KeySource): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (source === 'both' ? named(name, 'x-api-key') || named(name, 'authorization') : named(name, source))
      continue;
    out.push(name, headers[i + 1]!);
  }
  return out;
}

const named = (name: string, lower: string): boolean =>
  name.length === lower.length && name.toLowerCase() === lower;

function authenticate(ex: Exchange): void {
  const verifier = ex.route.data.auth;
  if (verifier === undefined) return ex.next();
  const presented = presentedKey(ex.req);
  if (presented === undefined)
    return refuse(ex, 'an API key is required (Authorization: Bearer <key> or x-api-key: <key>)');
  let found: KeyIdentity | undefined | Promise<KeyIdentity | undefined>;
  try {
    found = verifier.verify(presented.key);
  } catch (err) {
    return failed(ex, err);
  }
  // A closure only for a verifier that answers later (Redis); SQLite answers at once.
  if (found instanceof Promise)
    found.then(
      (id) => identified(ex, id, presented.source),
      (err) => failed(ex, err),
    );
  else identified(ex, found, presented.source);
}

function identified(ex: Exchange, id: KeyIdentity | undefined, source: KeySource): void {
  if (ex.res.destroyed) {
    ex.shedReason = 'client_gone';
    return ex.finish();
  }
  if (id === undefined) return refuse(ex, 'unknown or revoked API key');
  ex.consumer = id.consumer;
  ex.keyId = id.keyId;
  ex.headers = withoutKeyHeader(ex.headers, source);
  const limiter = ex.route.data.auth!.limiterOf?.(id.consumer);
  if (limiter === undefined) return ex.next();
  let v: RateLimitVerdict | Promise<RateLimitVerdict>;
  try {
    v = limiter.take(id.consumer, ex.g.clock.now());
  } catch (err) {
    return failed(ex, err);
  }
  if (v instanceof Promise)
    v.then(
      (verdict) => limited(ex, verdict),
      (err) => failed(ex, err),
    );
  else limited(ex, v);
}

/** The consumer's own limit: on to the next stage, or 429 with Retry-After and RateLimit-* headers. */
function limited(ex: Exchange, v: RateLimitVerdict): void {
  if (v.ok) return ex.next();
  const limit = { headers: rateLimitHeaders(v), retryAfterS: v.retryAfterS };
  shed(ex, 'rate_limit', 'LS_ERR_GATEWAY_RATE_LIMITED', {}, limit);
}

function refuse(ex: Exchange, reason: string): void {
  const challenge = { headers: { 'www-authenticate': 'Bearer' } };
  shed(ex, 'unauthenticated', 'LS_ERR_GATEWAY_UNAUTHENTICATED', { reason }, challenge);
}

function failed(ex: Exchange, err: unknown): void {
  shed(ex, 'auth_error', 'LS_ERR_GATEWAY_UPSTREAM_ERROR', {
    reason: `key check failed: ${(err as Error)?.message}`,
  });
}
