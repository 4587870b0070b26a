/**
 * An IPv4 or IPv6 subnet as configuration writes it (`10.0.0.0/8`, `fd00::/8`, or a bare address),
 * parsed with node's own address check (`net.isIP`); matching is `net.BlockList`'s.
 */
import net from 'node:net';

/** One parsed entry. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** What an entry must look like, in words (config errors). */
export const CIDR_RULE = 'must be an IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8, 127.0.0.1 or fd00::/8';

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v = net.isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const p = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
  return { address, prefix: Number(p), family: v === 4 ? 'ipv4' : 'ipv6' };
}
