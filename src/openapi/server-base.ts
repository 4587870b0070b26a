/**
 * The base path of an OpenAPI document's routes, from the first server's URL (3.x `servers`, its
 * variables' defaults, §4.8.6; 2.0 `basePath`), and route templates joined to it and put in the
 * normal form requests are matched in (RFC 3986 §6.2.2).
 */
import { LuascaleError } from '../core/errors.js';
import { normalisePercent } from '../core/normalise-path.js';

/**
 * The path of the first server's URL, its variables substituted with their defaults (OpenAPI 3
 * §4.8.6). A variable in the path with no default is refused: the routes would silently lose that
 * part of their base path (the Server Variable Object's `default` is REQUIRED).
 */
export function serverBase(file: string, pointer: string, servers: any): string {
  const s = Array.isArray(servers) ? servers[0] : undefined;
  if (!s?.url) return '';
  const raw = String(s.url);
  // The path starts after `scheme://authority` (or `//authority`), else at the start.
  const authority = /^(?:[^:/?#{}]*:|\{[^}]*\}:)?\/\/[^/?#]*/.exec(raw)?.[0].length ?? 0;
  // Only the path is kept: the scheme and host (and their variables) are the instances' business.
  const path = raw.slice(authority).replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = s.variables?.[name]?.default;
    if (value === undefined)
      throw new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file,
        pointer: `${pointer}/servers/0/url`,
        reason: `variable {${name}} has no default in servers[0].variables (the base path needs one)`,
      });
    return String(value);
  });
  try {
    // `/{base}` with a default of `/v2` gives `//v2`: slashes of a composed URL, not an authority.
    return new URL(path.replace(/\/{2,}/g, '/'), 'http://placeholder').pathname;
  } catch {
    return '';
  }
}

export function nonEmpty(servers: unknown): boolean {
  return Array.isArray(servers) && servers.length > 0;
}

export function normaliseBase(base: string): string {
  const b = base.replace(/\/+$/, '');
  return b === '' || b === '/' ? '' : b.startsWith('/') ? b : `/${b}`;
}

/**
 * A path template in the form the route stage matches requests in: characters a path may not hold
 * as they are (RFC 3986 §3.3: non-ASCII, space, ...) percent-encoded as UTF-8, then every
 * percent-encoding in the normal form of RFC 3986 §6.2.2 (upper-case hex, unreserved characters
 * decoded; gateway/pipeline/normalise-path.ts), so `/café/{id}` matches `/caf%C3%A9/7` and
 * `/caf%c3%a9/7`. `{name}` parts are kept as written. Undefined for a malformed `%`.
 */
export function encodeTemplate(path: string): string | undefined {
  const parts = path.split(/(\{[^/{}]+\})/);
  for (let i = 0; i < parts.length; i += 2) {
    let part: string | undefined;
    try {
      part = normalisePercent(
        parts[i]!.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (c) => encodeURIComponent(c)),
      );
    } catch {
      return undefined; // a lone UTF-16 surrogate has no UTF-8 encoding
    }
    if (part === undefined) return undefined;
    parts[i] = part;
  }
  return parts.join('');
}

export function joinPath(base: string, path: string): string {
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}
