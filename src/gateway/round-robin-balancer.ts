/**
 * Round robin over the eligible endpoints. During slow start an endpoint with weight w < 1 is taken
 * only with probability w when its turn comes (otherwise the turn passes on), so its share ramps up.
 */
import type { Balancer, Endpoint, PickContext } from './balancer.js';

/** Round robin with slow-start weights. */
export function createRoundRobinBalancer(options: { random?: () => number } = {}): Balancer {
  const random = options.random ?? Math.random;
  let next = 0;

  function pick(endpoints: readonly Endpoint[], _ctx: PickContext, exclude?: Endpoint): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    for (let tries = 0; tries < n; tries++) {
      const ep = endpoints[next++ % n]!;
      if (next >= 0x3fffffff) next = 0;
      if (ep === exclude && n > 1) continue;
      if (ep.weight >= 1 || random() < ep.weight) return ep;
    }
    return endpoints[next++ % n];
  }

  return { pick, update() {} };
}
