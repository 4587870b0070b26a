/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016; HAProxy
 * `hash-balance-factor`): each endpoint owns `vnodes` points on a 32-bit ring; a key goes to the
 * first point clockwise whose endpoint has fewer than ceil(c · (total + 1) / n) requests in flight.
 * Changing the pool moves about 1/n of the keys, and no endpoint exceeds c times the mean load.
 */
import type { Balancer, Endpoint, PickContext } from './balancer.js';

/** Sticky balancer keyed by `ctx.hashKey`. */
export function createConsistentHashBalancer(
  options: { balanceFactor?: number; vnodes?: number } = {},
): Balancer {
  const c = options.balanceFactor ?? 1.25;
  if (!(c > 1)) throw new RangeError(`balance_factor must be > 1, got ${c}`);
  const vnodes = options.vnodes ?? 160;
  let points = new Uint32Array(0);
  let owners: Endpoint[] = [];
  let members: readonly Endpoint[] = [];

  function update(endpoints: readonly Endpoint[]): void {
    members = endpoints.slice();
    const ring: { h: number; ep: Endpoint }[] = [];
    for (const ep of endpoints) {
      for (let v = 0; v < vnodes; v++) ring.push({ h: hash32(`${ep.id}#${v}`), ep });
    }
    ring.sort((a, b) => a.h - b.h || (a.ep.id < b.ep.id ? -1 : 1));
    points = Uint32Array.from(ring, (p) => p.h);
    owners = ring.map((p) => p.ep);
  }

  function pick(endpoints: readonly Endpoint[], ctx: PickContext, exclude?: Endpoint): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    if (!sameMembers(endpoints)) update(endpoints);
    let total = 0;
    for (let i = 0; i < n; i++) total += endpoints[i]!.inflight;
    const cap = Math.ceil((c * (total + 1)) / n);
    const h = hash32(ctx.hashKey ?? '');
    const start = lowerBound(points, h);
    const len = points.length;
    // Walk at most the whole ring; distinct owners are few, so this ends quickly.
    for (let k = 0; k < len; k++) {
      const ep = owners[(start + k) % len]!;
      if (ep === exclude && n > 1) continue;
      if (ep.inflight < cap) return ep;
    }
    return owners[start % len];
  }

  function sameMembers(endpoints: readonly Endpoint[]): boolean {
    if (endpoints === members) return true;
    if (endpoints.length !== members.length) return false;
    for (let i = 0; i < endpoints.length; i++) if (endpoints[i] !== members[i]) return false;
    members = endpoints;
    return true;
  }

  return { pick, update };
}

function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo === a.length ? 0 : lo;
}

/** 32-bit FNV-1a with a murmur3 finaliser for avalanche (FNV alone clusters similar keys). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
