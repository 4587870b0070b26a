/**
 * Power of two choices on least outstanding requests weighted by peak-EWMA latency (Mitzenmacher's
 * P2C; Finagle's P2C+PeakEwma; Envoy LEAST_REQUEST with N=2): pick two distinct endpoints at
 * random and send to the cheaper one. This avoids herding onto one "best" instance, which a global
 * minimum does when many balancers share stale load figures.
 */
import type { Balancer, Endpoint, PickContext } from './balancer.js';
import { peakEwmaCost } from './peak-ewma.js';

/** The default balancer. */
export function createP2cEwmaBalancer(options: { random?: () => number; decayMs?: number } = {}): Balancer {
  const random = options.random ?? Math.random;
  const decayMs = options.decayMs ?? 10_000;

  function pick(endpoints: readonly Endpoint[], ctx: PickContext, exclude?: Endpoint): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    if (n === 1) return endpoints[0];
    const i = (random() * n) | 0;
    let j = (random() * (n - 1)) | 0;
    if (j >= i) j++;
    const a = endpoints[i]!;
    const b = endpoints[j]!;
    if (exclude !== undefined) {
      if (a === exclude) return b;
      if (b === exclude) return a;
    }
    return peakEwmaCost(a, ctx.now, decayMs) <= peakEwmaCost(b, ctx.now, decayMs) ? a : b;
  }

  return { pick, update() {} };
}
