/**
 * Waiting time in a multi-server queue: Erlang C with the Allen–Cunneen correction.
 *
 * M/M/c (Erlang 1917; Kleinrock, Queueing Systems vol. 1, §3.5): with c servers of rate μ and
 * offered load a = λ/μ < c, the probability that a request waits is
 *   C(c, a) = B(c, a) / (1 − (a/c)(1 − B(c, a))),  B the Erlang B formula by its recursion
 *   B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)),
 * and the wait of those that wait is exponential with rate cμ − λ: P(W > t) = C·e^{−(cμ−λ)t}.
 * Requests in luascale's model take a fixed service time (the base latency), so the queue is
 * M/D/c. Allen–Cunneen (Allen, Probability, Statistics and Queueing Theory, 1990, eq. 6.61)
 * scales the M/M/c wait by (ca² + cs²)/2; Poisson arrivals (ca² = 1) and fixed service (cs² = 0)
 * give ½, so P(W > t) ≈ C·e^{−2(cμ−λ)t}. Closed-form quantiles keep one simulated second O(c).
 */

/** The Allen–Cunneen factor (ca² + cs²)/2 for Poisson arrivals and deterministic service. */
export const ALLEN_CUNNEEN_FACTOR = 0.5;

/** Erlang C: the probability that an arrival waits, for `servers` servers and offered load `a` (< servers). */
export function erlangC(servers: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= servers) return 1;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (a * b) / (k + a * b);
  const rho = a / servers;
  return b / (1 - rho * (1 - b));
}

/** The queueing wait of one M/D/c operating point (seconds). */
export interface WaitProfile {
  /** Probability of waiting at all. */
  pWait: number;
  /** Rate of the exponential tail, 1/s: (cμ − λ) / factor. */
  tailRate: number;
  /** Mean wait, seconds. */
  mean: number;
}

/** The wait profile for `servers` servers of rate `mu` (1/s) at arrival rate `lambda` (1/s), lambda < servers·mu. */
export function waitProfile(servers: number, mu: number, lambda: number): WaitProfile {
  const pWait = erlangC(servers, lambda / mu);
  const tailRate = (servers * mu - lambda) / ALLEN_CUNNEEN_FACTOR;
  return { pWait, tailRate, mean: pWait > 0 ? pWait / tailRate : 0 };
}

/** The p-quantile (0 < p < 1) of the wait, seconds: 0 when fewer than 1 − p of requests wait. */
export function waitQuantile(profile: WaitProfile, p: number): number {
  const tail = 1 - p;
  if (profile.pWait <= tail) return 0;
  return Math.log(profile.pWait / tail) / profile.tailRate;
}
