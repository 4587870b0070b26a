import { pushWindowMax } from './sorted-window.js';

/**
 * An online-calibrated upper bound on the highest load of the next `horizonMs` (issue 22).
 *
 * Every tick records its load estimate `est`; `horizonMs` later, when the highest load M of that
 * stretch is known, the tick is scored s = (M − est) / (est + unit) (the rise relative to the
 * estimate, with one instance's worth `unit` so that a near-idle estimate is not divided by ~0),
 * and the bound's quantile q is moved by quantile tracking (online conformal prediction in its
 * simplest form; Angelopoulos, Candès & Tibshirani, "Conformal PID control for time series
 * prediction", NeurIPS 2023, §2.1):
 *
 *   q ← q + step × (1[s > q] − (1 − coverage))
 *
 * A miss raises q by about `step`, a covered tick lowers it by `step × (1 − coverage)`, so over
 * any long run the share of misses converges to 1 − coverage whatever the trace's noise: no margin
 * is carried from the traces the defaults were chosen on. The bound is est + q × (est + unit).
 *
 * The tracker only ever changes in `record()`; reading `bound()` is free of side effects (the
 * predictive policy folds a tick in when the next one arrives, see predictive.ts).
 */
export class UpperBoundTracker {
  /** The tracked quantile of the score. */
  q: number;
  /** Ticks scored so far. */
  resolved = 0;
  /** Of those, ticks whose load rose above the bound they were given. */
  misses = 0;
  /** Ticks waiting for their horizon to pass: time, estimate, unit. */
  private readonly waitT: number[] = [];
  private readonly waitEst: number[] = [];
  private readonly waitUnit: number[] = [];
  /** Loads since the oldest waiting tick as a monotonic deque (values decreasing): the front is the max. */
  private readonly maxT: number[] = [];
  private readonly maxV: number[] = [];

  constructor(private readonly o: { coverage: number; step: number; horizonMs: number; initial: number }) {
    this.q = o.initial;
  }

  /** The upper bound for an estimate `est` (in the load's unit), one instance being `unit`. */
  bound(est: number, unit: number): number {
    return est + Math.max(0, this.q) * (Math.max(0, est) + unit);
  }

  /** Records a tick: its load, the estimate a bound was drawn from, one instance's worth. */
  record(now: number, load: number, est: number, unit: number): void {
    pushWindowMax(this.maxT, this.maxV, now, load);
    let n = 0;
    while (n < this.waitT.length && this.waitT[n]! + this.o.horizonMs <= now) {
      const t = this.waitT[n]!;
      let front = 0;
      while (front < this.maxT.length - 1 && this.maxT[front]! < t) front++;
      if (front > 0) {
        this.maxT.splice(0, front);
        this.maxV.splice(0, front);
      }
      const est = this.waitEst[n]!;
      const s = (this.maxV[0]! - est) / (Math.max(0, est) + this.waitUnit[n]!);
      const miss = s > this.q;
      this.q += this.o.step * ((miss ? 1 : 0) - (1 - this.o.coverage));
      this.resolved++;
      if (miss) this.misses++;
      n++;
    }
    if (n > 0) {
      this.waitT.splice(0, n);
      this.waitEst.splice(0, n);
      this.waitUnit.splice(0, n);
    }
    this.waitT.push(now);
    this.waitEst.push(est);
    this.waitUnit.push(unit);
  }
}
