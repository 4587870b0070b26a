import { pushWindowMax } from './sorted-window.js';

/** One tick's record (see UpperBoundTracker.record). */
export interface BoundTick {
  load: number;
  est: number;
  unit: number;
  serves?: number;
}

/**
 * An online-calibrated upper bound on the highest load of the next `horizonMs` (issue 22).
 *
 * The predictive guard scores it by the fleet sized from it (`serves`): a miss is a tick whose
 * next `horizonMs` brought more load than that fleet serves. That is adaptive conformal inference
 * on the decision (Gibbs & Candès, "Adaptive conformal inference under distribution shift",
 * NeurIPS 2021): the update below is the same, with the miss of the fleet in place of the miss of
 * the bound, so the square-root staffing headroom and the rounding up to whole instances count
 * towards the coverage instead of being paid on top of it. Without `serves`, the bound itself is
 * scored, as described next.
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
  /** Ticks waiting for their horizon to pass: time, estimate, unit, the load their decision serves. */
  private readonly waitT: number[] = [];
  private readonly waitEst: number[] = [];
  private readonly waitUnit: number[] = [];
  private readonly waitServes: number[] = [];
  /** Loads since the oldest waiting tick as a monotonic deque (values decreasing): the front is the max. */
  private readonly maxT: number[] = [];
  private readonly maxV: number[] = [];

  constructor(
    private readonly o: {
      coverage: number;
      step: number;
      horizonMs: number;
      initial: number;
      /**
       * `max` (default): a tick is scored by the highest load of its horizon; `end`: by the load
       * when its horizon ends (the first tick at or past it), so that each second's load is scored
       * once, against the decision that had to provision for it, instead of by every tick whose
       * horizon it falls in (one high second would be up to a horizon's worth of misses).
       */
      score?: 'max' | 'end';
    },
  ) {
    this.q = o.initial;
  }

  /** The upper bound for an estimate `est` (in the load's unit), one instance being `unit`. */
  bound(est: number, unit: number): number {
    return est + Math.max(0, this.q) * (Math.max(0, est) + unit);
  }

  /**
   * Records a tick: its load, the estimate a bound was drawn from, one instance's worth, and
   * (`serves`) the load the fleet sized from that bound serves; NaN: score the bound itself.
   */
  record(now: number, t: BoundTick): void {
    pushWindowMax(this.maxT, this.maxV, now, t.load);
    const load = t.load;
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
      const serves = this.waitServes[n]!;
      // a miss: the load outgrew the fleet sized from the bound (ACI on the decision, Gibbs &
      // Candès 2021), or, without one, the bound itself (quantile tracking of the score)
      const miss = Number.isNaN(serves)
        ? (this.maxV[0]! - est) / (Math.max(0, est) + this.waitUnit[n]!) > this.q
        : (this.o.score === 'end' ? load : this.maxV[0]!) > serves;
      // q below 0 widens nothing (bound() reads max(0, q)): clamping it keeps a quiet stretch from
      // winding it down so far that the next rise takes long to win it back
      this.q = Math.max(0, this.q + this.o.step * ((miss ? 1 : 0) - (1 - this.o.coverage)));
      this.resolved++;
      if (miss) this.misses++;
      n++;
    }
    if (n > 0) {
      this.waitT.splice(0, n);
      this.waitEst.splice(0, n);
      this.waitUnit.splice(0, n);
      this.waitServes.splice(0, n);
    }
    this.waitT.push(now);
    this.waitEst.push(t.est);
    this.waitUnit.push(t.unit);
    this.waitServes.push(t.serves ?? NaN);
  }
}
