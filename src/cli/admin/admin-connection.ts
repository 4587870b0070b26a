/**
 * Where the admin API is and the token to send there. Where: `--admin`, else LUASCALE_ADMIN, else
 * the config's admin.listen (`-c`, default ./luascale.yaml when it exists), else 127.0.0.1:9090. The
 * token: `--token`, else LUASCALE_TOKEN, else the config's admin.token, but only when talking to that
 * config's own admin.listen (never sent to another host).
 */
import { existsSync } from 'node:fs';
import { badArgument } from '../bad-argument.js';
import type { ConnOpts } from './connection-options.js';

export { withConnectionOptions, type ConnOpts } from './connection-options.js';

/** Where the admin API is and the token to send there. */
export interface Connection {
  base: string;
  token: string;
}

const DEFAULT_CONFIG = 'luascale.yaml';
const DEFAULT_ADMIN = 'http://127.0.0.1:9090';

/** Parses an admin base URL (`host:port` or `http(s)://host:port[/prefix]`); a malformed one is a usage error. */
export function parseAdminUrl(value: string, arg = '--admin'): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  // `http//host`, `http:/host`, `https:host`: a mistyped scheme, not a host called "http".
  if (!hasScheme && /^https?(:|\/)/i.test(value))
    throw badArgument(arg, `"${value}": mistyped scheme (expected e.g. http://127.0.0.1:9090)`);
  const text = hasScheme ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badArgument(arg, `not a URL: "${value}" (expected e.g. http://127.0.0.1:9090)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badArgument(arg, `"${value}": only http:// and https:// are supported`);
  if (!url.hostname || url.username || url.password || url.search || url.hash || url.pathname.includes('//'))
    throw badArgument(
      arg,
      `"${value}": expected scheme://host:port[/path], without credentials, query or fragment`,
    );
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/i;
const WILDCARD = /^(0\.0\.0\.0|::|)$/;

/** The URL to reach a listener `host:port` at (a wildcard listener is reached on loopback). */
export function urlOfListen(listen: string): string {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) return parseAdminUrl(listen, 'admin.listen');
  const host = m[1] ?? m[2] ?? '';
  if (WILDCARD.test(host)) return `http://127.0.0.1:${m[3]}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${m[3]}`;
}

/** Whether `base` is the admin listener `listen` itself (so its config's token belongs there). */
export function isOwnListener(listen: string, base: string): boolean {
  const own = new URL(urlOfListen(listen));
  const url = new URL(base);
  if (url.protocol !== 'http:' || url.port !== own.port || url.pathname !== '/') return false;
  const host = (u: URL) => u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host(url) === host(own)) return true;
  // Loopback names are one machine; a wildcard listener was turned into 127.0.0.1 above.
  return LOOPBACK.test(host(url)) && LOOPBACK.test(host(own));
}

/** A token as an HTTP header carries it: surrounding whitespace (a CR/LF from a file) trimmed, visible ASCII only. */
export function cleanToken(token: string, arg: string): string {
  const t = token.trim();
  const bad = [...t].findIndex((ch) => ch < '!' || ch > '~');
  if (bad >= 0) {
    const cp = t.codePointAt(bad)!.toString(16).toUpperCase().padStart(4, '0');
    throw badArgument(
      arg,
      `malformed token: character ${bad + 1} is U+${cp}; a bearer token is visible ASCII only`,
    );
  }
  return t;
}

/**
 * Where the admin API is and how to authenticate, from flags, environment, then config. A config is
 * read only when it is needed: when no address is given, or when `-c` names one explicitly next to
 * an address (to use its token, and only if its admin.listen is that address). The config loader
 * (and its generated validator, ~60 ms) is imported then, not before: a call without a config never loads it.
 */
export async function resolveConnection(
  o: ConnOpts,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const loadConfig = async (file: string) => (await import('../../config/load-config.js')).loadConfig(file);
  const adminArg = o.admin ?? (env.LUASCALE_ADMIN || undefined);
  const tokenFrom = o.token !== undefined ? '--token' : 'LUASCALE_TOKEN';
  let token = o.token ?? (env.LUASCALE_TOKEN || undefined);
  let tokenArg = tokenFrom;
  let base: string;
  if (adminArg !== undefined) {
    base = parseAdminUrl(adminArg, o.admin !== undefined ? '--admin' : 'LUASCALE_ADMIN');
    if (o.config !== undefined) {
      const { config } = await loadConfig(o.config);
      if (token === undefined && isOwnListener(config.admin.listen, base)) {
        token = config.admin.token;
        tokenArg = `${o.config}: admin.token`;
      }
    }
  } else if (o.config !== undefined || existsSync(DEFAULT_CONFIG)) {
    // An explicit -c that does not exist fails here (LS_ERR_CONFIG_READ names it), never falls back.
    const file = o.config ?? DEFAULT_CONFIG;
    const { config } = await loadConfig(file);
    base = urlOfListen(config.admin.listen);
    if (token === undefined) {
      token = config.admin.token;
      tokenArg = `${file}: admin.token`;
    }
  } else {
    base = DEFAULT_ADMIN;
  }
  return { base, token: token ? cleanToken(token, tokenArg) : '' };
}
