/**
 * What a service's rate limit is kept per (`traffic.rate_limit.key`), as a named kind parsed once,
 * and the function that derives a request's admission key from it. HTTP and upgrade requests share
 * the function, so a WebSocket handshake spends the same bucket as a plain request.
 */
import type http from 'node:http';

/** A parsed `rate_limit.key`. */
export type RateKey =
  | { kind: 'ip' }
  | { kind: 'route' }
  | { kind: 'global' }
  | { kind: 'api_key' }
  | { kind: 'consumer' }
  | { kind: 'header'; name: string };

/**
 * Derives the admission key of a request: (request, client IP, route label, consumer) → key. The
 * consumer is the one the authenticate stage found ('' on a route without `auth`).
 */
export type RateKeyFn = (req: http.IncomingMessage, ip: string, label: string, consumer: string) => string;

/** Parses `ip`, `route`, `global`, `api_key`, `consumer` or `header:<name>` (default `ip`). */
export function parseRateKey(key: string | undefined): RateKey {
  if (key === undefined || key === 'ip') return { kind: 'ip' };
  if (key === 'route' || key === 'global' || key === 'api_key' || key === 'consumer') return { kind: key };
  if (key.startsWith('header:')) return { kind: 'header', name: key.slice(7).toLowerCase() };
  throw new RangeError(
    `rate_limit.key: expected ip, route, global, api_key, consumer or header:<name>, got "${key}"`,
  );
}

/** One key function per kind, chosen once per service (no switch per request). */
export function rateKeyFn(key: RateKey): RateKeyFn {
  switch (key.kind) {
    case 'ip':
      return (_req, ip) => ip;
    case 'route':
      return (_req, _ip, label) => label;
    case 'global':
      return () => '*';
    case 'header': {
      const name = key.name;
      return (req, ip) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : ip;
      };
    }
    case 'consumer':
      // Without `auth: key` on the route there is no consumer: fall back to the client's address.
      return (_req, ip, _label, consumer) => (consumer === '' ? ip : `consumer:${consumer}`);
    case 'api_key':
      return (req, ip) => {
        const k = req.headers['x-api-key'] ?? req.headers.authorization;
        return typeof k === 'string' ? k : ip;
      };
  }
}
