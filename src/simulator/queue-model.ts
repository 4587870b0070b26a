/**
 * The per-second service model: a fluid FIFO backlog for overload plus M/D/c waiting for the
 * randomness of arrivals below capacity (docs/simulator.md has the derivation).
 *
 * - Capacity: `ready` instances serve `ready × capacity` req/s at 100 % CPU. An instance is
 *   `k = capacity × service_ms / 1000` servers (its concurrency), at least one.
 * - Fluid backlog (overload): within a second, arrivals come at rate a and leave at rate K;
 *   the backlog Q(u) moves at a − K. An arrival at time u waits Q(u)/K (FIFO at rate K).
 *   Requests that would wait longer than the queue timeout τ are dropped: Q is capped at K·τ,
 *   and what overflows is dropped (observed τ later, when the gateway would answer 503).
 *   Requests that have waited τ (because capacity fell, or was zero) are dropped too.
 * - Stochastic wait (any load): M/D/c via Erlang C and Allen–Cunneen (metrics/erlang-c.ts) at
 *   utilisation ρ = served/K, capped at ρmax = 0.99 so that the fluid and stochastic regimes join
 *   without a jump where the steady state stops existing (ρ → 1).
 * - Latency quantile p = service_ms + fluid wait quantile + stochastic wait quantile (summing
 *   quantiles over-estimates slightly: conservative), capped at service_ms + τ.
 * - CPU = 100 × served / K (utilisation of ready instances); inflight = busy servers (Little's law);
 *   queue = fluid backlog + mean M/D/c queue length.
 */
import { ALLEN_CUNNEEN_FACTOR, waitProfile, waitQuantile, type WaitProfile } from '../metrics/erlang-c.js';

/** The highest utilisation the stochastic part is evaluated at (see the header). */
export const RHO_MAX = 0.99;

/** Model parameters. */
export interface QueueModelOptions {
  /** Requests per second one instance serves at 100 % CPU. */
  capacity: number;
  /** Base latency of one request, ms. */
  serviceMs: number;
  /** Seconds a request may wait before it is dropped. */
  queueTimeoutS: number;
}

/** What the model measured in one second; reused between calls (copy what you keep). */
export interface SecondSample {
  offered: number;
  served: number;
  /** Requests dropped that the gateway answered in this second. */
  dropped: number;
  /** Requests waiting at the end of the second (backlog + mean stochastic queue). */
  queue: number;
  inflight: number;
  /** Percent of ready capacity in use. */
  cpu: number;
  /** Served / ready capacity, 0..1 (0 with no ready instance). */
  utilization: number;
  p50: number;
  p95: number;
  p99: number;
}

/** One service's queue, stepped one second at a time. */
export interface QueueModel {
  /** Advances one second with `arrivals` new requests and `ready` instances serving. */
  step(arrivals: number, ready: number): SecondSample;
  /**
   * Whether a second with `arrivals` on `ready` instances leaves the state as it is (no backlog,
   * no drop pending, load within capacity): then every such second gives the same sample, and
   * `skip` may stand in for repeating `step`.
   */
  steady(arrivals: number, ready: number): boolean;
  /** Advances `k` seconds, each a repeat of the last step; only valid while `steady` held. */
  skip(k: number): void;
  /** Requests still waiting, and drops not yet answered: what the end of a run leaves over. */
  pending(): { waiting: number; dropsToObserve: number };
  /** p95 latency (ms) a steady load of `arrivals` req/s would see on `instances` ready instances. */
  steadyP95(arrivals: number, instances: number): number;
  /**
   * Exactly `steadyP95(arrivals, instances) > limitMs`, without evaluating Erlang C where a bound
   * already answers it (the SPEC demand search asks this for every distinct rate).
   */
  steadyP95Exceeds(arrivals: number, instances: number, limitMs: number): boolean;
}

/** Creates the model (state: cohorts of waiting requests by arrival second, pending drops). */
export function queueModel(options: QueueModelOptions): QueueModel {
  const { capacity, serviceMs } = options;
  const tau = options.queueTimeoutS;
  const perInstance = (capacity * serviceMs) / 1000;
  const cohortSlots = Math.floor(tau) + 2;
  const cohorts = new Float64Array(cohortSlots);
  const dropDelay = Math.round(tau);
  const dropSlots = dropDelay + 1;
  const pendingDrops = new Float64Array(dropSlots);
  // The last second whose step answers a pending drop: a drop booked at second t sits in slot
  // (t + dropDelay) mod dropSlots, which step(t + max(1, dropDelay)) empties next.
  let lastDropDue = -1;
  let oldest = 0; // arrival second of the oldest cohort that may hold requests
  let backlog = 0;
  let t = 0;
  // reused by every overloaded second (no allocation per step)
  const fluid: FluidSegments = { rising: true, massA: 0, massB: 0, wA0: 0, wA1: 0, wB: 0 };
  const out: SecondSample = {
    offered: 0,
    served: 0,
    dropped: 0,
    queue: 0,
    inflight: 0,
    cpu: 0,
    utilization: 0,
    p50: 0,
    p95: 0,
    p99: 0,
  };
  const cache = stochasticCache();

  function servers(ready: number): number {
    return Math.max(ready, Math.round(ready * perInstance));
  }

  /** Stochastic wait quantiles (s) and mean queue for `ready` instances at utilisation `rho`. */
  function stochastic(ready: number, rho: number): StochasticPoint {
    // ρ is quantised to 1e-6: far below what the quantiles resolve, and it makes cache hits likely.
    const r = Math.round(Math.min(rho, RHO_MAX) * 1_000_000) / 1_000_000;
    return cache.get(ready, r, computePoint);
  }

  function computePoint(ready: number, r: number, out: StochasticPoint): void {
    const m = servers(ready);
    const mu = (ready * capacity) / m;
    const lambda = r * ready * capacity;
    const prof: WaitProfile = waitProfile(m, mu, lambda);
    out.q50 = Math.min(waitQuantile(prof, 0.5), tau);
    out.q95 = Math.min(waitQuantile(prof, 0.95), tau);
    out.q99 = Math.min(waitQuantile(prof, 0.99), tau);
    out.lq = lambda * prof.mean;
  }

  function removeOldest(amount: number): void {
    let s = oldest;
    while (amount > 0 && s <= t) {
      const slot = s % cohortSlots;
      const take = Math.min(cohorts[slot]!, amount);
      cohorts[slot]! -= take;
      amount -= take;
      if (cohorts[slot]! <= 1e-12) {
        cohorts[slot] = 0;
        if (s < t) s++;
        else break;
      }
    }
    oldest = s;
  }

  function removeNewest(amount: number): void {
    for (let s = t - 1; amount > 0 && s >= oldest; s--) {
      const slot = s % cohortSlots;
      const take = Math.min(cohorts[slot]!, amount);
      cohorts[slot]! -= take;
      amount -= take;
    }
  }

  return {
    step(a: number, ready: number): SecondSample {
      const dSlot = t % dropSlots;
      let dropped = pendingDrops[dSlot]!;
      pendingDrops[dSlot] = 0;
      // Requests that have waited longer than τ give up now (capacity fell or was zero).
      // A cohort's newest member arrived just before oldest + 1: drop once even it has waited τ.
      while (oldest < t && t - oldest - 1 >= tau) {
        const slot = oldest % cohortSlots;
        dropped += cohorts[slot]!;
        backlog -= cohorts[slot]!;
        cohorts[slot] = 0;
        oldest++;
      }
      if (backlog < 1e-9) {
        backlog = 0;
        if (oldest < t) {
          for (let s = oldest; s < t; s++) cohorts[s % cohortSlots] = 0;
          oldest = t;
        }
      }
      cohorts[t % cohortSlots] = 0;
      const K = ready * capacity;
      out.offered = a;
      if (K <= 0) {
        // Nothing serves: arrivals wait (the age rule above drops them after τ).
        cohorts[t % cohortSlots] = a;
        backlog += a;
        const waited = backlog > 0 ? Math.min(t - oldest, tau) * 1000 + serviceMs : 0;
        out.served = 0;
        out.dropped = dropped;
        out.queue = backlog;
        out.inflight = 0;
        out.cpu = 0;
        out.utilization = 0;
        out.p50 = out.p95 = out.p99 = waited;
        t++;
        return out;
      }
      const cap = K * tau;
      let q0 = backlog;
      if (q0 > cap) {
        // Capacity fell: the newest waiters can no longer be served within τ.
        removeNewest(q0 - cap);
        dropped += q0 - cap;
        q0 = cap;
      }
      // Fluid FIFO over the second (u in [0, 1)): segment A is u < uA, where the backlog moves
      // linearly and waits go from wA0 to wA1; segment B is the rest, at a constant wait wB.
      const net = a - K;
      let uA: number;
      let q1: number;
      let wA1: number;
      let densityB: number;
      let wB: number;
      let overflow = 0;
      const wA0 = q0 / K;
      if (net >= 0) {
        if (net > 0 && q0 + net > cap) {
          uA = (cap - q0) / net;
          q1 = cap;
          overflow = net * (1 - uA);
          wA1 = tau;
          densityB = K; // at the cap only K/s get in, and they wait τ
          wB = tau;
        } else {
          uA = 1;
          q1 = q0 + net;
          wA1 = q1 / K;
          densityB = 0;
          wB = wA1;
        }
      } else if (q0 > 0) {
        const u0 = q0 / -net;
        uA = Math.min(u0, 1);
        q1 = u0 < 1 ? 0 : q0 + net;
        wA1 = q1 / K;
        densityB = a;
        wB = 0;
      } else {
        uA = 0;
        q1 = 0;
        wA1 = 0;
        densityB = a;
        wB = 0;
      }
      const served = Math.max(0, q0 + a - overflow - q1);
      // Book-keeping of cohorts: admitted arrivals join, service takes the oldest first.
      cohorts[t % cohortSlots] = a - overflow;
      backlog = q0 + a - overflow;
      removeOldest(served);
      backlog = q1 < 1e-9 ? 0 : q1;
      if (overflow > 0) {
        pendingDrops[(t + dropDelay) % dropSlots]! += overflow;
        lastDropDue = t + Math.max(1, dropDelay);
      }

      const massA = a * uA;
      const massB = densityB * (1 - uA);
      const rho = served / K;
      const st = stochastic(ready, rho);
      out.served = served;
      out.dropped = dropped;
      out.queue = q1 + st.lq;
      out.inflight = rho * servers(ready); // busy servers: λ × service time (Little's law)
      out.cpu = 100 * rho;
      out.utilization = rho;
      if (served <= 0 && massA + massB <= 0) {
        out.p50 = out.p95 = out.p99 = 0;
      } else if (q0 === 0 && net <= 0) {
        out.p50 = serviceMs + st.q50 * 1000;
        out.p95 = serviceMs + st.q95 * 1000;
        out.p99 = serviceMs + st.q99 * 1000;
      } else {
        fluid.rising = net >= 0;
        fluid.massA = massA;
        fluid.massB = massB;
        fluid.wA0 = wA0;
        fluid.wA1 = wA1;
        fluid.wB = wB;
        out.p50 = latency(fluidQuantile(0.5, fluid), st.q50);
        out.p95 = latency(fluidQuantile(0.95, fluid), st.q95);
        out.p99 = latency(fluidQuantile(0.99, fluid), st.q99);
      }
      t++;
      return out;
    },
    steady(a: number, ready: number): boolean {
      // No drop pending: every slot a drop was booked in has been emptied since.
      return backlog === 0 && lastDropDue < t && ready > 0 && a <= ready * capacity;
    },
    skip(k: number): void {
      t += k;
      oldest = t;
    },
    pending() {
      let drops = 0;
      for (let i = 0; i < dropSlots; i++) drops += pendingDrops[i]!;
      return { waiting: backlog, dropsToObserve: drops };
    },
    steadyP95(arrivals: number, instances: number): number {
      if (arrivals <= 0) return 0;
      if (instances <= 0) return Infinity;
      const rho = arrivals / (instances * capacity);
      if (rho > 1) return Infinity;
      return serviceMs + stochastic(instances, rho).q95 * 1000;
    },
    steadyP95Exceeds(arrivals: number, instances: number, limitMs: number): boolean {
      if (arrivals > 0 && instances > 0) {
        // P(wait) ≤ 1, so the wait quantile ln(P(wait)/0.05)/tailRate (metrics/erlang-c.ts) is at most
        // ln(1/0.05)/tailRate, with tailRate = (cμ − λ)/factor = K(1 − ρ)/factor at the quantised
        // ρ ≤ min(ρ, ρmax) + 5e-7. The bound carries margins (1e-6 on P(wait) and ρ, 1e-9
        // relative) far above floating-point rounding, so whenever it clears the limit the exact
        // p95 does too; otherwise (and beyond capacity, where p95 is Infinity) the exact value decides.
        const K = instances * capacity;
        const rho = arrivals / K;
        const rhoHigh = Math.min(rho, RHO_MAX) + 1e-6;
        if (rho <= 1 && rhoHigh < 1) {
          const tailRate = (K * (1 - rhoHigh)) / ALLEN_CUNNEEN_FACTOR;
          const wait = Math.min(Math.log(1.000001 / 0.05) / tailRate, tau);
          if ((serviceMs + wait * 1000) * (1 + 1e-9) < limitMs) return false;
        }
      }
      return this.steadyP95(arrivals, instances) > limitMs;
    },
  };

  function latency(fluidWaitS: number, stochasticWaitS: number): number {
    return serviceMs + Math.min(fluidWaitS + stochasticWaitS, tau) * 1000;
  }
}

/** The fluid wait of one second's admitted arrivals in two segments, A then B (see fluidQuantile). */
interface FluidSegments {
  rising: boolean;
  massA: number;
  massB: number;
  wA0: number;
  wA1: number;
  wB: number;
}

/**
 * The p-quantile of the fluid wait over admitted arrivals. Rising backlog: segment A's waits go
 * up from wA0 to wA1, then B waits wB (the highest). Falling: B waits 0 (the lowest), A's waits
 * go down from wA0 to wA1. Arrivals are uniform in time, so within A the wait is linear in mass.
 */
function fluidQuantile(p: number, f: FluidSegments): number {
  const { rising, massA, massB, wA0, wA1, wB } = f;
  const total = massA + massB;
  if (total <= 0) return 0;
  const target = p * total;
  if (rising) {
    if (target <= massA && massA > 0) return wA0 + ((wA1 - wA0) * target) / massA;
    return massB > 0 ? wB : wA1;
  }
  if (target <= massB) return 0;
  if (massA <= 0) return 0;
  return wA1 + ((wA0 - wA1) * (target - massB)) / massA;
}

interface StochasticPoint {
  q50: number;
  q95: number;
  q99: number;
  lq: number;
}

/**
 * Memo of stochastic operating points keyed by (ready, ρ): the last point, then a direct-mapped
 * table in typed arrays (a slot keeps the latest key that hashed to it). Within a trace bucket
 * the rate is constant, so most seconds hit the last point. A point is a pure function of its
 * key, so what the table forgets is only recomputed, never different. The returned object is
 * reused: read it before the next call.
 */
function stochasticCache(bits = 15) {
  const size = 1 << bits;
  const keys = new Float64Array(size).fill(-1);
  const values = new Float64Array(size * 4);
  const point: StochasticPoint = { q50: 0, q95: 0, q99: 0, lq: 0 };
  let lastReady = -1;
  let lastRho = -1;
  return {
    get(
      ready: number,
      rho: number,
      compute: (ready: number, rho: number, out: StochasticPoint) => void,
    ): StochasticPoint {
      if (ready === lastReady && rho === lastRho) return point;
      const micro = Math.round(rho * 1_000_000);
      const key = ready * 2_000_000 + micro;
      const slot = (Math.imul(ready, 0x9e3779b1) ^ Math.imul(micro, 0x85ebca77)) >>> (32 - bits);
      const v = slot * 4;
      if (keys[slot] === key) {
        point.q50 = values[v]!;
        point.q95 = values[v + 1]!;
        point.q99 = values[v + 2]!;
        point.lq = values[v + 3]!;
      } else {
        compute(ready, rho, point);
        keys[slot] = key;
        values[v] = point.q50;
        values[v + 1] = point.q95;
        values[v + 2] = point.q99;
        values[v + 3] = point.lq;
      }
      lastReady = ready;
      lastRho = rho;
      return point;
    },
  };
}
