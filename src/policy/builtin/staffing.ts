/** Square-root staffing and the order statistic that bounds a quantile from above (predictive). */

/**
 * Instances for a load of `d` instances' worth at full utilisation, with square-root staffing
 * headroom: n = d + β√d (Halfin & Whitt 1981; Borst, Mandelbaum & Reiman 2004), so the spare
 * capacity grows with √load, as the queueing delay of pooled servers requires.
 */
export function staffed(d: number, beta: number): number {
  if (!(d > 0)) return 0;
  return Math.ceil(d + beta * Math.sqrt(d) - 1e-9);
}

/**
 * The rank (0-based, in an ascending sample of `n`) of a distribution-free upper confidence bound
 * on the `q` quantile: the count of samples below the quantile is Binomial(n, q), so its bound is
 * nq + z√(nq(1 − q)) (normal approximation; Hahn & Meeker, "Statistical Intervals", §5.2). A
 * young window (few samples) reads a higher order statistic than a full one.
 */
export function quantileUpperRank(n: number, q: number, z: number): number {
  return Math.floor(q * n + z * Math.sqrt(n * q * (1 - q)));
}
