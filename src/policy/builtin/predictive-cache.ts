/**
 * The predictive built-in's per-service working set (see predictive.ts, "The large buffers"): the
 * bucket series and fitted model, the reactive windows, the surge bookkeeping, the guard's bound
 * and the scale-in hold. evaluate() reads it; only commit() (the pending tick folded in when the
 * next tick arrives) and advance() (idempotent for one `now`) change it.
 */
import type { PolicyContext } from '../policy.js';
import { fitForecast, updateForecast, type ForecastModel } from '../../metrics/forecast.js';
import type { PredictiveParams } from './predictive-params.js';
import { dropThrough, lowerBound, pushWindowMax } from './sorted-window.js';
import { UpperBoundTracker } from './upper-bound-tracker.js';
import { RiskBudget } from './predictive-risk-budget.js';

/** The tick evaluate() answered last, not yet in the buffers (see predictive.ts). */
export interface PendingTick {
  /** Its `now`; NaN when there is none. */
  now: number;
  /** It fed the load series (value and queue). */
  fed: boolean;
  value: number;
  queue: number;
  /** It took part in the surge bookkeeping, with this burst level and startup time. */
  surge: boolean;
  burst: number;
  startupMs: number;
  /** It fed the guard: its load estimate, one instance's worth, and the reactive HPA-style count. */
  guard: boolean;
  estimate: number;
  unit: number;
  reactive: number;
  /** The load the guard's calibrated fleet serves (NaN: score the bound itself). */
  serves: number;
  /** It fed the risk budget: the fleet's ready instances, one instance's load at 100 %. */
  risk: boolean;
  ready: number;
  capacity: number;
  /** It entered the scale-in hold with this raw answer, kept for keepMs. */
  hold: boolean;
  raw: number;
  keepMs: number;
}

/** The per-service working set kept outside ctx.state (too large to copy every tick). */
export class PredictiveCache {
  private readonly bucketMs: number;
  /** `ctx.state.at` of the state the buffers continue (undefined: built from a fresh state). */
  base: number | undefined;
  readonly pending: PendingTick = {
    now: NaN,
    fed: false,
    value: 0,
    queue: 0,
    surge: false,
    burst: 0,
    startupMs: 0,
    guard: false,
    estimate: 0,
    unit: 0,
    reactive: 0,
    serves: NaN,
    risk: false,
    ready: 0,
    capacity: 0,
    hold: false,
    raw: 0,
    keepMs: 0,
  };
  /** Completed bucket means, oldest first. */
  readonly buckets: number[] = [];
  /** Index (time / bucket) of the bucket being filled, its sum and count. */
  cur: number;
  curSum = 0;
  curN = 0;
  /** Recent per-tick values for the reactive demand estimate. */
  readonly recentT: number[] = [];
  readonly recentV: number[] = [];
  /** The gateway queue at those ticks. */
  readonly recentQ: number[] = [];
  /** Per-tick values of the last `burst_window_s`: in arrival order, and sorted (for the quantile). */
  readonly burstT: number[] = [];
  readonly burstV: number[] = [];
  readonly burstSorted: number[] = [];
  /** Surges (load above the burst level) waiting a startup time to see whether they lasted. */
  readonly surgeT: number[] = [];
  readonly surgeLevel: number[] = [];
  /** When the burst window's surges were resolved: all of them, and those where the load was still above. */
  readonly resolvedT: number[] = [];
  readonly lastedT: number[] = [];
  /** When the load went above the burst level and stayed there (NaN while it is not above). */
  surgeSince = NaN;
  model: ForecastModel | undefined;
  /** Bucket count at the last fit. */
  fittedAt = 0;
  /** The guard: the calibrated upper bound on the load of the next startup + margin. */
  readonly bound: UpperBoundTracker;
  /** The guard's risk budget: a shadow HPA's over-capacity seconds against the fleet's. */
  readonly risk: RiskBudget;
  /** The reactive HPA-style counts of the last `guard_window_s`, as a monotonic deque (values decreasing). */
  readonly guardT: number[] = [];
  readonly guardV: number[] = [];
  /** Raw answers of the last `scale_in_delay`, as a monotonic deque (values decreasing). */
  readonly holdT: number[] = [];
  readonly holdV: number[] = [];

  constructor(
    private readonly p: PredictiveParams,
    ctx: PolicyContext,
    base: number | undefined,
  ) {
    this.bucketMs = p.bucketS * 1000;
    this.base = base;
    this.cur = Math.floor(ctx.now / this.bucketMs);
    const startupS = p.startupS ?? ctx.observation.startup_s ?? 30;
    this.bound = new UpperBoundTracker({
      coverage: p.coverage,
      step: p.coverageStep,
      horizonMs: startupS * 1000,
      initial: 0.5,
      score: p.coverageScore,
    });
    this.risk = new RiskBudget({
      share: p.riskShare,
      knee: p.riskKnee,
      startupMs: startupS * 1000,
      initial: ctx.observation.replicas,
    });
    // rebuild the bucket series from recorded history (e.g. after a restart)
    const step = ctx.history.stepSeconds || 1;
    const past = ctx.history.series(this.p.metric, this.p.historyBuckets * this.p.bucketS, ctx.now);
    if (past.length > 0) {
      let idx = Math.floor((ctx.now - (past.length - 1) * step * 1000) / this.bucketMs);
      let sum = 0;
      let n = 0;
      for (let i = 0; i < past.length - 1; i++) {
        const t = ctx.now - (past.length - 1 - i) * step * 1000;
        const b = Math.floor(t / this.bucketMs);
        if (b !== idx) {
          if (n > 0) this.buckets.push(sum / n);
          idx = b;
          sum = 0;
          n = 0;
        }
        const v = past[i]!;
        if (Number.isFinite(v)) {
          sum += v;
          n++;
        }
      }
      if (idx === this.cur) {
        this.curSum = sum;
        this.curN = n;
      } else if (n > 0) this.buckets.push(sum / n);
    }
  }

  /**
   * Moves the buffers to `now` without adding this tick: closes finished buckets (holding the last
   * value over gaps) and drops what has left the windows. Repeating it for the same `now` changes
   * nothing.
   */
  advance(now: number, v: number): void {
    const b = Math.floor(now / this.bucketMs);
    if (b !== this.cur) {
      const mean =
        this.curN > 0
          ? this.curSum / this.curN
          : this.buckets.length > 0
            ? this.buckets[this.buckets.length - 1]!
            : v;
      const gap = Math.min(b - this.cur, this.p.historyBuckets);
      for (let i = 0; i < gap; i++) {
        this.buckets.push(mean);
        if (this.model) updateForecast(this.model, mean);
      }
      this.cur = b;
      this.curSum = 0;
      this.curN = 0;
      if (this.buckets.length > this.p.historyBuckets * 1.25)
        this.buckets.splice(0, this.buckets.length - this.p.historyBuckets);
    }
    dropThrough(now - this.p.windowS * 1000, this.recentT, this.recentV, this.recentQ);
    let old = 0;
    while (old < this.burstT.length && this.burstT[old]! <= now - this.p.burstWindowS * 1000) {
      this.burstSorted.splice(lowerBound(this.burstSorted, this.burstV[old]!), 1);
      old++;
    }
    if (old > 0) {
      this.burstT.splice(0, old);
      this.burstV.splice(0, old);
    }
  }

  /** Folds the pending tick into the buffers, as evaluate() read it virtually at its time. */
  commit(): void {
    const t = this.pending;
    if (t.fed) {
      this.curSum += t.value;
      this.curN++;
      // recent values for the reactive estimate
      this.recentT.push(t.now);
      this.recentV.push(t.value);
      this.recentQ.push(t.queue);
      // the burst window: a FIFO plus a sorted copy kept by binary insertion (O(window) per tick)
      this.burstT.push(t.now);
      this.burstV.push(t.value);
      this.burstSorted.splice(lowerBound(this.burstSorted, t.value), 0, t.value);
    }
    if (t.surge) {
      // surges a startup time old are resolved against this tick's load
      let resolved = 0;
      for (; resolved < this.surgeT.length && this.surgeT[resolved]! <= t.now - t.startupMs; resolved++) {
        this.resolvedT.push(t.now);
        if (t.value > this.surgeLevel[resolved]!) this.lastedT.push(t.now);
      }
      this.surgeT.splice(0, resolved);
      this.surgeLevel.splice(0, resolved);
      dropThrough(t.now - this.p.burstWindowS * 1000, this.resolvedT);
      dropThrough(t.now - this.p.burstWindowS * 1000, this.lastedT);
      if (t.value > t.burst) {
        this.surgeT.push(t.now);
        this.surgeLevel.push(t.burst);
        if (Number.isNaN(this.surgeSince)) this.surgeSince = t.now;
      } else this.surgeSince = NaN;
    }
    if (t.guard) {
      this.bound.record(t.now, { load: t.value, est: t.estimate, unit: t.unit, serves: t.serves });
      pushWindowMax(this.guardT, this.guardV, t.now, t.reactive);
      dropThrough(t.now - this.p.guardWindowS * 1000, this.guardT, this.guardV);
    }
    if (t.risk) this.risk.record(t.now, { load: t.value, ready: t.ready, capacity: t.capacity });
    if (t.hold) {
      // the scale-in hold: a monotonic deque (values decreasing) of the last keepMs of answers
      pushWindowMax(this.holdT, this.holdV, t.now, t.raw);
      let drop = 0;
      while (drop < this.holdT.length - 1 && this.holdT[drop]! <= t.now - t.keepMs) drop++;
      if (drop > 0) {
        this.holdT.splice(0, drop);
        this.holdV.splice(0, drop);
      }
    }
    t.now = NaN;
  }

  /** Refits when enough new buckets arrived: often while history is short, every `refitEvery` later. */
  refit(horizon: number): void {
    const n = this.buckets.length;
    if (n < 8) return;
    const since = n - this.fittedAt;
    const due =
      !this.model ||
      since >= Math.min(this.p.refitEvery, Math.max(4, Math.floor(this.fittedAt / 4))) ||
      this.model.horizon !== horizon;
    if (!due) return;
    let model = fitForecast(this.buckets, { season: this.p.season, horizon });
    if (model && model.kind === 'holt') {
      // short history: try a shorter season (1/24 of the configured one, e.g. hourly for daily)
      const short = Math.round(this.p.season / 24);
      if (short >= 2 && n >= 2 * short + 2 && horizon < short) {
        const alt = fitForecast(this.buckets, { season: short, horizon });
        if (alt && alt.accuracy.wape < model.accuracy.wape) model = alt;
      }
    }
    this.model = model;
    this.fittedAt = n;
  }

  /**
   * The share of the burst window's surges (ticks whose load exceeded the burst level) where the
   * load was still above that level a startup time later, with a uniform prior (Laplace: 1/2
   * before any surge), counting the surges `value` resolves now; commit() records them.
   */
  surgeLasting(now: number, value: number, startupMs: number): number {
    dropThrough(now - this.p.burstWindowS * 1000, this.resolvedT);
    dropThrough(now - this.p.burstWindowS * 1000, this.lastedT);
    let resolved = 0;
    let lasted = 0;
    for (; resolved < this.surgeT.length && this.surgeT[resolved]! <= now - startupMs; resolved++)
      if (value > this.surgeLevel[resolved]!) lasted++;
    return (this.lastedT.length + lasted + 1) / (this.resolvedT.length + resolved + 2);
  }
}
