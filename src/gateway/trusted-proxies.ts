/**
 * Who the client is behind a load balancer or CDN (`gateway.trusted_proxies`). A request whose peer
 * is in the list carries its client's address in `X-Forwarded-For` (or, without it, RFC 7239
 * `Forwarded: for=`); the client is the right-most entry that is not itself trusted, walking
 * leftwards over trusted hops (nginx's `real_ip_recursive on`, Envoy's trusted hops). When every
 * entry is trusted the left-most one is the client; an entry that is not an address (`unknown`,
 * an obfuscated identifier, RFC 7239 §6.3) stops the walk at the last trusted hop. A peer outside
 * the list is the client, whatever it sends.
 *
 * CIDR matching is node's `net.BlockList` (IPv4 and IPv6 subnets, IPv4-mapped IPv6 included).
 */
import net from 'node:net';
import { CIDR_RULE, parseCidr } from '../core/cidr.js';

/** The parsed `trusted_proxies` list. */
export interface TrustedProxies {
  /** Whether `ip` (an address without brackets or port) is a trusted proxy. */
  trusts(ip: string): boolean;
}

/** Builds the matcher; undefined for an empty list (nobody is trusted). Throws on an invalid entry. */
export function createTrustedProxies(cidrs: readonly string[] | undefined): TrustedProxies | undefined {
  if (cidrs === undefined || cidrs.length === 0) return undefined;
  const list = new net.BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c === undefined) throw new RangeError(`trusted_proxies: "${text}" ${CIDR_RULE}`);
    list.addSubnet(c.address, c.prefix, c.family);
  }
  // Clients arrive over the same few balancer connections: remember the last answer.
  let lastIp = '';
  let lastOk = false;
  return {
    trusts(ip) {
      if (ip === lastIp) return lastOk;
      const v = net.isIP(ip);
      const ok = v !== 0 && list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
      lastIp = ip;
      lastOk = ok;
      return ok;
    },
  };
}

/**
 * The client address of a request from a trusted `peer`: the right-most entry of `xForwardedFor`
 * (comma-joined values), else of `forwarded`'s `for=` parameters, that is not trusted (see the
 * module comment). Returns `peer` when neither header names an address.
 */
export function clientAddress(
  peer: string,
  headers: { xForwardedFor: string | undefined; forwarded: string | undefined },
  trusted: TrustedProxies,
): string {
  const entries =
    headers.xForwardedFor !== undefined
      ? headers.xForwardedFor.split(',')
      : headers.forwarded !== undefined
        ? forwardedFor(headers.forwarded)
        : undefined;
  if (entries === undefined) return peer;
  let client = peer;
  for (let i = entries.length - 1; i >= 0 && trusted.trusts(client); i--) {
    const ip = addressOf(entries[i]!);
    if (ip === undefined) break;
    client = ip;
  }
  return client;
}

/** The `for=` values of a Forwarded field, in order (RFC 7239 §4: elements by ",", pairs by ";"). */
function forwardedFor(value: string): string[] {
  const out: string[] = [];
  for (const element of value.split(',')) {
    let node: string | undefined;
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') node = pair.slice(eq + 1);
    }
    // An element without for= says nothing of the address: it cannot be skipped as trusted.
    out.push(node ?? '');
  }
  return out;
}

/**
 * The address in one entry, or undefined: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`,
 * `"[2001:db8::1]:80"` (RFC 7239 §6: quoted, IPv6 in brackets, optional port). IPv4-mapped IPv6
 * addresses are reduced to IPv4, as the gateway does for its peers.
 */
export function addressOf(entry: string): string | undefined {
  let s = entry.trim();
  if (s.length >= 2 && s.charCodeAt(0) === 34 && s.charCodeAt(s.length - 1) === 34) s = s.slice(1, -1);
  if (s.charCodeAt(0) === 91) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    s = s.slice(1, end);
  } else if (s.indexOf(':') !== s.lastIndexOf(':')) {
    // two or more colons: a bare IPv6 address (no port possible without brackets)
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0) s = s.slice(0, colon);
  }
  if (net.isIP(s) === 0) return undefined;
  return s.startsWith('::ffff:') && net.isIPv4(s.slice(7)) ? s.slice(7) : s;
}
