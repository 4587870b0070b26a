/** URL helpers for the sources: strict http(s) parsing, and credentials kept out of messages. */
import { LuascaleError } from '../core/errors.js';

/** Parses an http:// or https:// URL; throws a one-line Error quoting the bad value. */
export function parseHttpUrl(value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new LuascaleError('LS_ERR_SOURCE_URL', { reason: `url "${value}" is not a valid absolute URL` });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new LuascaleError('LS_ERR_SOURCE_URL', {
      reason: `url must be http:// or https://, got ${u.protocol}`,
    });
  return u;
}

/** URLs for messages and logs: user and password are replaced, since configs may carry credentials. */
export function redactUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '***';
  copy.password = '';
  return copy.href;
}
