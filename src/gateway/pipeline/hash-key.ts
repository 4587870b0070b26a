/**
 * The affinity key of a consistent-hash balancer (`balancer.hash_key`), as a named kind parsed once,
 * and the function that reads it from a request (client IP when the header or cookie is absent).
 */
import type http from 'node:http';
import type { BalancerOptions } from '../balancer.js';

/** A parsed `balancer.hash_key`; `none` when the balancer does not hash. */
export type HashKey =
  { kind: 'none' } | { kind: 'ip' } | { kind: 'header'; name: string } | { kind: 'cookie'; name: string };

/** Reads a request's affinity key: (request, client IP) → key. */
export type HashKeyFn = (req: http.IncomingMessage, ip: string) => string;

/** Parses `ip`, `header:<name>` or `cookie:<name>` (default `ip`) for a consistent-hash balancer. */
export function parseHashKey(b: BalancerOptions | undefined): HashKey {
  if (b?.algorithm !== 'consistent-hash') return { kind: 'none' };
  const key = b.hash_key ?? 'ip';
  if (key === 'ip') return { kind: 'ip' };
  if (key.startsWith('header:')) return { kind: 'header', name: key.slice(7).toLowerCase() };
  if (key.startsWith('cookie:')) return { kind: 'cookie', name: key.slice(7) };
  throw new RangeError(`balancer.hash_key: expected ip, header:<name> or cookie:<name>, got "${key}"`);
}

/** The key function of a kind, or undefined for `none` (the pick then carries no key). */
export function hashKeyFn(key: HashKey): HashKeyFn | undefined {
  switch (key.kind) {
    case 'none':
      return undefined;
    case 'ip':
      return (_req, ip) => ip;
    case 'header': {
      const name = key.name;
      return (req, ip) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : ip;
      };
    }
    case 'cookie': {
      const name = key.name;
      return (req, ip) => cookieValue(req.headers.cookie, name) ?? ip;
    }
  }
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4: `a=1; b=2`). */
function cookieValue(cookie: string | undefined, name: string): string | undefined {
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
