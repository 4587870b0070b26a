/**
 * The load-balancer extension point. A balancer is pure selection: it gets the eligible endpoints
 * (healthy, not draining, not ejected: the pool filters) and a pick context with `now`, and returns
 * one. Load (`inflight`), latency (`ewmaMs`) and the slow-start `weight` live on the endpoint and
 * are kept up to date by the pool; every implementation runs test/gateway/balancer-contract.test.ts.
 */
import { createConsistentHashBalancer } from './consistent-hash-balancer.js';
import { createP2cEwmaBalancer } from './p2c-ewma-balancer.js';
import { createRoundRobinBalancer } from './round-robin-balancer.js';

/** What a balancer sees of an upstream instance. */
export interface Endpoint {
  readonly id: string;
  /** Requests sent and not yet finished. */
  inflight: number;
  /** Peak-EWMA response latency in ms (see peak-ewma.ts). */
  ewmaMs: number;
  /** When `ewmaMs` was last updated (monotonic ms). */
  ewmaAt: number;
  /** Share of traffic during slow start, in (0, 1]; 1 once ramped up. */
  weight: number;
}

/** Per-request inputs to a pick. */
export interface PickContext {
  now: number;
  /** Affinity key (header, cookie or client IP) for hashing balancers; undefined otherwise. */
  hashKey?: string;
  /** The request being routed (the pick stage sets it), for balancers that key state on it (llm). */
  request?: object;
  /** A prompt's chained block hashes, for prefix-affine balancers (src/llm/routing/prefix-index.ts). */
  prefix?: Uint32Array;
}

/** Chooses one endpoint among the eligible ones. */
export interface Balancer {
  /** One endpoint, or undefined when `endpoints` is empty. `exclude` is skipped when others exist (retries). */
  pick(endpoints: readonly Endpoint[], ctx: PickContext, exclude?: Endpoint): Endpoint | undefined;
  /** Called when membership changes, so a balancer can rebuild derived tables (e.g. a hash ring). */
  update(endpoints: readonly Endpoint[]): void;
}

/** Which balancer a service uses and its knobs. */
export interface BalancerOptions {
  /** Default `p2c-ewma`. */
  algorithm?: 'p2c-ewma' | 'round-robin' | 'consistent-hash';
  /** For consistent-hash: `ip` (default), `header:<name>` or `cookie:<name>`. */
  hash_key?: string;
  /** For consistent-hash: bounded-load factor c, each endpoint takes at most ceil(c·mean) (default 1.25). */
  balance_factor?: number;
  /** Virtual nodes per endpoint on the hash ring (default 160, as APISIX's chash). */
  vnodes?: number;
  /** Peak-EWMA decay time constant in ms (default 10 000, as Finagle/APISIX). */
  decay_ms?: number;
  /** A balancer built outside the gateway (the app builds the `llm` one, src/llm/routing), used as it is. */
  custom?: Balancer;
}

/** Builds the balancer named by `options.algorithm`. `random` is injectable for deterministic tests. */
export function createBalancer(options: BalancerOptions = {}, random: () => number = Math.random): Balancer {
  if (options.custom !== undefined) return options.custom;
  switch (options.algorithm ?? 'p2c-ewma') {
    case 'p2c-ewma':
      return createP2cEwmaBalancer({ random, decayMs: options.decay_ms });
    case 'round-robin':
      return createRoundRobinBalancer({ random });
    case 'consistent-hash':
      return createConsistentHashBalancer({ balanceFactor: options.balance_factor, vnodes: options.vnodes });
    default:
      throw new RangeError(
        `unknown balancer algorithm "${String(options.algorithm)}" (known: p2c-ewma, round-robin, consistent-hash)`,
      );
  }
}
