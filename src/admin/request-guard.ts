/**
 * The admin API's gate, run on every request before its handler: the Host check (DNS rebinding),
 * the cross-site check on mutating requests (CSRF) and the bearer token.
 *
 * The token is checked on the route that was *matched*, never on the spelling of the target: the
 * router also matches absolute-form targets (RFC 9112 §3.2.2) and percent-encoded paths, so a test
 * of `req.url` can be walked around. Every route needs the token unless it was registered public.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { LuascaleError } from '../core/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers without the token (health, metrics, docs, the dashboard shell). */
    public?: boolean;
    /** The route may take the token as `?access_token=` (EventSource cannot set headers). */
    queryToken?: boolean;
  }
}

/** Options of {@link requestGuard}. */
export interface RequestGuardOptions {
  /** The listener's host, as configured (`127.0.0.1`, `::`, `admin.example`). */
  host: string;
  /** '' = no token (only allowed on loopback). */
  token: string;
  /** Extra Host names; `*` accepts any. */
  allowedHosts?: string[];
  /** Failed token attempts allowed per client per minute before 429. */
  authFailuresPerMinute?: number;
  now?: () => number;
}

/** The error a guard answers with; the server's error handler renders it. */
export type GuardVerdict = { error: LuascaleError; headers?: Record<string, string> } | null;

/** RFC 9110 §9.2.1: the methods that are not safe, which a cross-site page must not send us. */
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Builds the guard: `check(req)` returns null to let the request through. */
export function requestGuard(options: RequestGuardOptions) {
  const hostOk = hostMatcher(options.host, options.allowedHosts ?? []);
  const expected = options.token ? digest(options.token) : null;
  const failures = authFailureLimiter(options.authFailuresPerMinute ?? 10);
  const now = options.now ?? Date.now;

  return function check(req: FastifyRequest): GuardVerdict {
    // DNS rebinding: a page on attacker.example that resolves to 127.0.0.1 still sends its own name.
    // An absolute-form target's authority overrides Host (RFC 9112 §3.2.2), so both are checked.
    for (const authority of [req.headers.host, absoluteAuthority(req.raw.url ?? '')]) {
      if (authority !== undefined && !hostOk(authority))
        return { error: new LuascaleError('LS_ERR_ADMIN_BAD_HOST', { host: clip(authority) }) };
    }
    if (UNSAFE.has(req.method)) {
      const origin = req.headers.origin;
      const site = req.headers['sec-fetch-site'];
      if ((origin !== undefined && !sameOrigin(origin, req.headers.host)) || site === 'cross-site')
        return {
          error: new LuascaleError('LS_ERR_ADMIN_FORBIDDEN_ORIGIN', { origin: clip(origin ?? String(site)) }),
        };
    }
    const config = req.routeOptions.config;
    if (!expected || config?.public) return null;
    const ip = req.ip;
    const wait = failures.blockedFor(ip, now());
    if (wait > 0)
      return {
        error: new LuascaleError('LS_ERR_ADMIN_AUTH_RATE_LIMITED'),
        headers: { 'retry-after': String(Math.ceil(wait / 1000)) },
      };
    const token =
      bearerToken(req.headers.authorization) ??
      (config?.queryToken ? (req.query as Record<string, unknown> | undefined)?.access_token : undefined);
    // Constant-time: compare fixed-length digests, so neither content nor length leaks through timing.
    if (typeof token !== 'string' || !timingSafeEqual(digest(token), expected)) {
      failures.fail(ip, now());
      return {
        error: new LuascaleError('LS_ERR_ADMIN_UNAUTHORIZED'),
        headers: { 'www-authenticate': 'Bearer realm="luascale"' },
      };
    }
    return null;
  };
}

/** RFC 9110 §11.1: the auth scheme is case-insensitive; RFC 6750 §2.1 gives `Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** Matches a Host (or authority) against the listener's own names and the configured extras. */
export function hostMatcher(listenHost: string, extra: string[]): (authority: string) => boolean {
  if (extra.includes('*')) return () => true;
  const names = new Set(['localhost', '127.0.0.1', '::1', ...extra.map(normaliseHost)]);
  const h = normaliseHost(listenHost);
  if (h === '' || h === '0.0.0.0' || h === '::') {
    // A wildcard listener answers on every address of the machine, and by its name.
    names.add(normaliseHost(hostname()));
    for (const addrs of Object.values(networkInterfaces()))
      for (const a of addrs ?? []) names.add(normaliseHost(a.address));
  } else names.add(h);
  return (authority) => {
    const host = normaliseHost(stripPort(authority));
    // Any 127/8 address is this machine's loopback: the listener may be on 127.0.0.2.
    return names.has(host) || (isIP(host) === 4 && host.startsWith('127.') && names.has('127.0.0.1'));
  };
}

/** Lower case, no brackets, no trailing dot (`LOCALHOST.` is `localhost`). */
function normaliseHost(h: string): string {
  return h
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

function stripPort(authority: string): string {
  const a = authority.trim();
  if (a.startsWith('[')) return a.slice(0, a.indexOf(']') + 1 || undefined);
  const colon = a.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address, which has no port.
  return colon >= 0 && a.indexOf(':', colon + 1) < 0 ? a.slice(0, colon) : a;
}

/** The authority of an absolute-form request target, or undefined for origin-form. */
function absoluteAuthority(target: string): string | undefined {
  if (target.startsWith('/') || target === '*') return undefined;
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(target);
  return m ? m[1]!.replace(/^[^@]*@/, '') : target;
}

/** Same origin: the Origin's authority is the Host the request was sent to (RFC 6454 §5). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === new URL(`http://${host}`).host;
  } catch {
    return false; // `null` (sandboxed frames, file:) and garbage
  }
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Counts failed attempts per client; past the budget, each further failure doubles the wait. */
function authFailureLimiter(perMinute: number) {
  const byIp = new Map<string, { times: number[]; blockedUntil: number; strikes: number }>();
  return {
    blockedFor(ip: string, now: number): number {
      const e = byIp.get(ip);
      return e && e.blockedUntil > now ? e.blockedUntil - now : 0;
    },
    fail(ip: string, now: number): void {
      let e = byIp.get(ip);
      if (!e) byIp.set(ip, (e = { times: [], blockedUntil: 0, strikes: 0 }));
      e.times = e.times.filter((t) => now - t < 60_000);
      e.times.push(now);
      if (e.times.length > perMinute) {
        e.strikes++;
        e.blockedUntil = now + Math.min(3_600_000, 1000 * 2 ** e.strikes);
      }
      if (byIp.size > 10_000) byIp.delete(byIp.keys().next().value!);
    },
  };
}
