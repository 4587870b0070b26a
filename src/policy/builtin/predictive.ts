/**
 * `predictive`: forecast the load and scale out before it arrives; react when the forecast
 * cannot be trusted.
 *
 * Follows AWS predictive scaling's contract
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-predictive-scaling.html):
 * the forecast only ever adds capacity (never scales in on a forecast), capacity is launched
 * `startup_s` (+ `margin_s`) ahead (AWS: SchedulingBufferTime), and `mode: forecast-only` reports
 * what it would do while the reactive answer is used. The model is Holt-Winters (additive,
 * seasonal; src/metrics/forecast.ts) on `bucket_s` buckets, refitted every `refit_every`
 * buckets like AWS's periodic refresh, with Holt's linear method while history is shorter than two
 * seasons. The forecast is used only while its h-step WAPE on recent data is ≤ `max_error`.
 *
 *   demand     = max(mean of the last `window_s`, lowest of the last `surge_s`) + sustained queue / `drain_s`
 *   plan       = max ŷ over [now, now + startup + margin] + the `quantile` of the model's holdout
 *                errors (scaled by √ŷ: Poisson-like variance)
 *   staffed(D) = ceil(D + staffing_beta × √D) instances for a load of D instances' worth
 *                (square-root staffing, Halfin & Whitt 1981: pooled servers need spare capacity
 *                that grows with √load, so 4 instances' load gets 5, 25 gets 26 at β = 0.18)
 *   trusted    : desired = max(staffed(demand / perInstance), staffed(plan / perInstance))
 *   otherwise  : desired = ceil(max(demand, burst) / (perInstance × fallback_utilization / target_utilization))
 *                burst = the `burst_quantile` (0.93) of the per-tick load of the last
 *                `burst_window_s` (15 min), read `burst_z` standard errors high (an upper
 *                confidence bound: a young window reads higher): on/off traffic whose bursts
 *                recur within the window keeps their capacity across the idle gaps (a burst
 *                shorter than the startup time cannot be followed by launching, only by keeping),
 *                while a spike rarer than 1 − burst_quantile of the window does not hold anything
 *   surges     : demand above burst counts (in both answers) only while at least
 *                `surge_persistence` (1/2) of the window's surge ticks were still above the burst
 *                level a startup time later, or once the surge under way has lasted
 *                `surge_follow_s` (half the startup time): launching for a surge that is gone
 *                when the instance is ready only pays for the instance
 *   forecast-only: the "otherwise" answer, with what the forecast would do logged
 *   then a scale-in takes effect only after the answer stayed lower for `scale_in_delay` (default
 *   0: the burst window already holds what is worth holding) while reacting, or for
 *   `trusted_scale_in_delay` (default: the startup time) while the forecast is trusted. The plan
 *   already covers the look-ahead, so a longer hold only pays for load the forecast says will
 *   not come; holding for the startup time is the ski-rental break-even: releasing an instance and
 *   launching it again within that time costs a billed startup plus the load left unserved, more
 *   than keeping it. Scale-downs are cheap (an instance stops after draining).
 *   perInstance = target, or capacity × target_utilization (default 1: the headroom comes from
 *                 staffing_beta and the forecast's error quantile, not from a flat target), where
 *                 capacity (metric per instance at 100 % CPU) is a param or is measured:
 *                 served / (ready × cpu / 100). Until it is known, CPU is tracked at 70 %.
 *
 * Defaults were chosen on the backtests of docs/backtests.md (three real traces, one set of
 * defaults for all); the trade-off each knob moves is described in docs/builtin-policies.md.
 *
 * The large buffers (bucket series, fitted model) live in a closure cache keyed by service;
 * `ctx.state` keeps only small scalars, among them `at`, the tick the state was returned for.
 * evaluate() never changes the cache for the tick it answers: that tick's observation is held as
 * the pending tick and folded into the buffers (`commit`) only when the next tick arrives with
 * the state returned for it. So evaluating the same tick twice gives the same answer and leaves
 * the same state, and a result the caller drops (a PolicyError, a trial run) leaves no trace. A
 * state the cache does not continue (a fresh one, as after a restart or in a new simulation, or
 * one from another run) rebuilds the cache from `ctx.history`.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import {
  errorQuantile,
  fitForecast,
  forecastAhead,
  updateForecast,
  type ForecastModel,
} from '../../metrics/forecast.js';
import { paramReader } from './params.js';
import { readMetric } from './read-metric.js';
import { failure, recommend } from './outcome.js';

/** CPU percent tracked while the capacity per instance is not known yet (the HPA's usual 70 %). */
const UNKNOWN_CAPACITY_CPU_TARGET = 70;

/** Validated predictive params. */
export interface PredictiveParams {
  metric: string;
  target?: number;
  capacity?: number;
  targetUtilization: number;
  fallbackUtilization: number;
  scaleInDelayMs: number;
  /** Scale-in delay while the forecast is trusted; default the startup time. */
  trustedScaleInDelayMs?: number;
  startupS?: number;
  marginS: number;
  bucketS: number;
  /** Season length in buckets. */
  season: number;
  historyBuckets: number;
  refitEvery: number;
  maxError: number;
  quantile: number;
  windowS: number;
  surgeS: number;
  drainS: number;
  /** Square-root staffing coefficient β: n = D + β√D instances for a load of D instances. */
  staffingBeta: number;
  /** Quantile of the last `burstWindowS` of load the reactive answer covers. */
  burstQuantile: number;
  burstWindowS: number;
  /** Standard errors above the sample quantile the burst level is read at (a young window reads higher). */
  burstZ: number;
  /** Follow a surge above the burst level only if at least this share of recent surges outlasted the startup time. */
  surgePersistence: number;
  /** ...or once it has lasted this long (default: half the startup time). */
  surgeFollowS?: number;
  mode: 'forecast-and-scale' | 'forecast-only';
}

/** Validates predictive params. */
export function parsePredictiveParams(params: Readonly<Record<string, unknown>>): PredictiveParams {
  const r = paramReader('predictive', params);
  r.onlyKeys([
    'metric',
    'target',
    'capacity',
    'target_utilization',
    'startup_s',
    'margin_s',
    'bucket_s',
    'season',
    'history',
    'refit_every',
    'max_error',
    'quantile',
    'window_s',
    'surge_s',
    'drain_s',
    'burst_quantile',
    'staffing_beta',
    'burst_window_s',
    'burst_z',
    'surge_persistence',
    'surge_follow_s',
    'mode',
    'fallback_utilization',
    'scale_in_delay',
    'trusted_scale_in_delay',
  ]);
  const bucketS = r.number('bucket_s', 60, { min: 1, max: 3600 });
  const seasonMs = r.duration('season', 86_400_000);
  const historyMs = r.duration('history', 7 * 86_400_000);
  const season = Math.round(seasonMs / 1000 / bucketS);
  if (season < 2) r.fail(`season: must span at least 2 buckets of ${bucketS}s, got ${seasonMs / 1000}s`);
  const historyBuckets = Math.round(historyMs / 1000 / bucketS);
  if (historyBuckets > 200_000)
    r.fail(`history: at most 200000 buckets of ${bucketS}s, got ${historyBuckets}`);
  return {
    metric: r.string('metric', 'rps'),
    target: r.optionalNumber('target', { min: 0, exclusiveMin: true }),
    capacity: r.optionalNumber('capacity', { min: 0, exclusiveMin: true }),
    targetUtilization: r.number('target_utilization', 1, { min: 0, max: 1, exclusiveMin: true }),
    scaleInDelayMs: r.duration('scale_in_delay', 0),
    trustedScaleInDelayMs:
      params.trusted_scale_in_delay === undefined ? undefined : r.duration('trusted_scale_in_delay', 0),
    fallbackUtilization: r.number('fallback_utilization', 0.97, { min: 0, max: 1, exclusiveMin: true }),
    startupS: r.optionalNumber('startup_s', { min: 0, max: 3600 }),
    marginS: r.number('margin_s', 30, { min: 0, max: 3600 }),
    bucketS,
    season,
    historyBuckets,
    refitEvery: r.number('refit_every', 360, { min: 1 }),
    maxError: r.number('max_error', 0.35, { min: 0 }),
    quantile: r.number('quantile', 0.9, { min: 0.5, max: 0.999 }),
    windowS: r.number('window_s', 30, { min: 1, max: 600 }),
    surgeS: r.number('surge_s', 5, { min: 1, max: 600 }),
    drainS: r.number('drain_s', 10, { min: 1, max: 600 }),
    staffingBeta: r.number('staffing_beta', 0.18, { min: 0, max: 10 }),
    burstQuantile: r.number('burst_quantile', 0.93, { min: 0, max: 1 }),
    burstWindowS: r.number('burst_window_s', 900, { min: 1, max: 3600 }),
    burstZ: r.number('burst_z', 1.5, { min: 0, max: 10 }),
    surgePersistence: r.number('surge_persistence', 0.5, { min: 0, max: 1 }),
    surgeFollowS: r.optionalNumber('surge_follow_s', { min: 0, max: 3600 }),
    mode: r.oneOf('mode', ['forecast-and-scale', 'forecast-only'] as const, 'forecast-and-scale'),
  };
}

/** The tick evaluate() answered last, not yet in the buffers (see the header). */
interface Pending {
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
  /** It entered the scale-in hold with this raw answer, kept for keepMs. */
  hold: boolean;
  raw: number;
  keepMs: number;
}

/** The per-service working set kept outside ctx.state (too large to copy every tick). */
interface Cache {
  /** `ctx.state.at` of the state the buffers continue (undefined: built from a fresh state). */
  base: number | undefined;
  pending: Pending;
  /** Completed bucket means, oldest first. */
  buckets: number[];
  /** Index (time / bucket) of the bucket being filled, its sum and count. */
  cur: number;
  curSum: number;
  curN: number;
  /** Recent per-tick values for the reactive demand estimate. */
  recentT: number[];
  recentV: number[];
  /** The gateway queue at those ticks. */
  recentQ: number[];
  /** Per-tick values of the last `burst_window_s`: in arrival order, and sorted (for the quantile). */
  burstT: number[];
  burstV: number[];
  burstSorted: number[];
  /** Surges (load above the burst level) waiting a startup time to see whether they lasted. */
  surgeT: number[];
  surgeLevel: number[];
  /** When the burst window's surges were resolved: all of them, and those where the load was still above. */
  resolvedT: number[];
  lastedT: number[];
  /** When the load went above the burst level and stayed there (NaN while it is not above). */
  surgeSince: number;
  model: ForecastModel | undefined;
  /** Raw answers of the last `scale_in_delay`, as a monotonic deque (values decreasing). */
  holdT: number[];
  holdV: number[];
  /** Bucket count at the last fit. */
  fittedAt: number;
}

/** Creates the predictive policy. */
export function predictive(params: Readonly<Record<string, unknown>>): Policy {
  const p = parsePredictiveParams(params);
  const caches = new Map<string, Cache>();
  const bucketMs = p.bucketS * 1000;

  function bootstrap(ctx: PolicyContext, base: number | undefined): Cache {
    const c: Cache = {
      base,
      pending: {
        now: NaN,
        fed: false,
        value: 0,
        queue: 0,
        surge: false,
        burst: 0,
        startupMs: 0,
        hold: false,
        raw: 0,
        keepMs: 0,
      },
      buckets: [],
      cur: Math.floor(ctx.now / bucketMs),
      curSum: 0,
      curN: 0,
      recentT: [],
      recentV: [],
      recentQ: [],
      burstT: [],
      burstV: [],
      burstSorted: [],
      surgeT: [],
      surgeLevel: [],
      resolvedT: [],
      lastedT: [],
      surgeSince: NaN,
      holdT: [],
      holdV: [],
      model: undefined,
      fittedAt: 0,
    };
    // rebuild the bucket series from recorded history (e.g. after a restart)
    const step = ctx.history.stepSeconds || 1;
    const past = ctx.history.series(p.metric, p.historyBuckets * p.bucketS, ctx.now);
    if (past.length > 0) {
      let idx = Math.floor((ctx.now - (past.length - 1) * step * 1000) / bucketMs);
      let sum = 0;
      let n = 0;
      for (let i = 0; i < past.length - 1; i++) {
        const t = ctx.now - (past.length - 1 - i) * step * 1000;
        const b = Math.floor(t / bucketMs);
        if (b !== idx) {
          if (n > 0) c.buckets.push(sum / n);
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
      if (idx === c.cur) {
        c.curSum = sum;
        c.curN = n;
      } else if (n > 0) c.buckets.push(sum / n);
    }
    return c;
  }

  /**
   * Moves the buffers to `now` without adding this tick: closes finished buckets (holding the last
   * value over gaps) and drops what has left the windows. Repeating it for the same `now` changes
   * nothing.
   */
  function advance(c: Cache, now: number, v: number): void {
    const b = Math.floor(now / bucketMs);
    if (b !== c.cur) {
      const mean =
        c.curN > 0 ? c.curSum / c.curN : c.buckets.length > 0 ? c.buckets[c.buckets.length - 1]! : v;
      const gap = Math.min(b - c.cur, p.historyBuckets);
      for (let i = 0; i < gap; i++) {
        c.buckets.push(mean);
        if (c.model) updateForecast(c.model, mean);
      }
      c.cur = b;
      c.curSum = 0;
      c.curN = 0;
      if (c.buckets.length > p.historyBuckets * 1.25)
        c.buckets.splice(0, c.buckets.length - p.historyBuckets);
    }
    dropThrough(now - p.windowS * 1000, c.recentT, c.recentV, c.recentQ);
    let old = 0;
    while (old < c.burstT.length && c.burstT[old]! <= now - p.burstWindowS * 1000) {
      c.burstSorted.splice(lowerBound(c.burstSorted, c.burstV[old]!), 1);
      old++;
    }
    if (old > 0) {
      c.burstT.splice(0, old);
      c.burstV.splice(0, old);
    }
  }

  /** Folds the pending tick into the buffers, as evaluate() read it virtually at its time. */
  function commit(c: Cache): void {
    const t = c.pending;
    if (t.fed) {
      c.curSum += t.value;
      c.curN++;
      // recent values for the reactive estimate
      c.recentT.push(t.now);
      c.recentV.push(t.value);
      c.recentQ.push(t.queue);
      // the burst window: a FIFO plus a sorted copy kept by binary insertion (O(window) per tick)
      c.burstT.push(t.now);
      c.burstV.push(t.value);
      c.burstSorted.splice(lowerBound(c.burstSorted, t.value), 0, t.value);
    }
    if (t.surge) {
      // surges a startup time old are resolved against this tick's load
      let resolved = 0;
      for (; resolved < c.surgeT.length && c.surgeT[resolved]! <= t.now - t.startupMs; resolved++) {
        c.resolvedT.push(t.now);
        if (t.value > c.surgeLevel[resolved]!) c.lastedT.push(t.now);
      }
      c.surgeT.splice(0, resolved);
      c.surgeLevel.splice(0, resolved);
      dropThrough(t.now - p.burstWindowS * 1000, c.resolvedT);
      dropThrough(t.now - p.burstWindowS * 1000, c.lastedT);
      if (t.value > t.burst) {
        c.surgeT.push(t.now);
        c.surgeLevel.push(t.burst);
        if (Number.isNaN(c.surgeSince)) c.surgeSince = t.now;
      } else c.surgeSince = NaN;
    }
    if (t.hold) {
      // the scale-in hold: a monotonic deque (values decreasing) of the last keepMs of answers
      while (c.holdV.length > 0 && c.holdV[c.holdV.length - 1]! <= t.raw) {
        c.holdV.pop();
        c.holdT.pop();
      }
      c.holdT.push(t.now);
      c.holdV.push(t.raw);
      let drop = 0;
      while (drop < c.holdT.length - 1 && c.holdT[drop]! <= t.now - t.keepMs) drop++;
      if (drop > 0) {
        c.holdT.splice(0, drop);
        c.holdV.splice(0, drop);
      }
    }
    t.now = NaN;
  }

  /** Refits when enough new buckets arrived: often while history is short, every `refitEvery` later. */
  function maybeRefit(c: Cache, horizon: number): void {
    const n = c.buckets.length;
    if (n < 8) return;
    const since = n - c.fittedAt;
    const due =
      !c.model ||
      since >= Math.min(p.refitEvery, Math.max(4, Math.floor(c.fittedAt / 4))) ||
      c.model.horizon !== horizon;
    if (!due) return;
    let model = fitForecast(c.buckets, { season: p.season, horizon });
    if (model && model.kind === 'holt') {
      // short history: try a shorter season (1/24 of the configured one, e.g. hourly for daily)
      const short = Math.round(p.season / 24);
      if (short >= 2 && n >= 2 * short + 2 && horizon < short) {
        const alt = fitForecast(c.buckets, { season: short, horizon });
        if (alt && alt.accuracy.wape < model.accuracy.wape) model = alt;
      }
    }
    c.model = model;
    c.fittedAt = n;
  }

  /**
   * The share of the burst window's surges (ticks whose load exceeded the burst level) where the
   * load was still above that level a startup time later, with a uniform prior (Laplace: 1/2
   * before any surge), counting the surges `value` resolves now; commit() records them.
   */
  function surgeLasting(c: Cache, now: number, value: number, startupMs: number): number {
    dropThrough(now - p.burstWindowS * 1000, c.resolvedT);
    dropThrough(now - p.burstWindowS * 1000, c.lastedT);
    let resolved = 0;
    let lasted = 0;
    for (; resolved < c.surgeT.length && c.surgeT[resolved]! <= now - startupMs; resolved++)
      if (value > c.surgeLevel[resolved]!) lasted++;
    return (c.lastedT.length + lasted + 1) / (c.resolvedT.length + resolved + 2);
  }

  return {
    name: 'builtin:predictive',
    source: `predictive: Holt-Winters on ${p.metric} (${p.bucketS}s buckets, season ${p.season}), scale out ahead by startup + ${p.marginS}s, ${p.mode}`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const now = ctx.now;
        // state: small scalars only; `at` says which tick's buffers it goes with (see the header)
        const st = ctx.state as { at?: number; capacity?: number };
        let c = caches.get(ctx.service);
        const pending = c?.pending.now ?? NaN;
        if (c && st.at !== undefined && st.at === pending && now > pending) {
          commit(c); // the next tick, with the state returned for the pending one
          c.base = pending;
        } else if (!(c && st.at !== undefined && st.at === c.base && now >= pending)) {
          c = bootstrap(ctx, st.at);
          caches.set(ctx.service, c);
        } // else: the pending tick again, or one whose result was dropped: forget it
        const tick = c.pending;
        tick.now = now;
        tick.fed = tick.surge = tick.hold = false;
        const next: Record<string, unknown> = { ...ctx.state, at: now };
        if ('token' in next) delete next.token; // the cache's key before `at`
        const current = obs.replicas;
        const value = obs.fresh === false ? undefined : readMetric(obs, p.metric);

        // capacity per instance, measured from served load and CPU when not given
        if (p.capacity === undefined && obs.ready > 0 && obs.cpu >= 20 && obs.cpu <= 95) {
          const served = Math.max(0, (value ?? 0) - (p.metric === 'rps' ? obs.shed_rps : 0));
          const est = served / (obs.ready * (obs.cpu / 100));
          if (est > 0 && Number.isFinite(est))
            next.capacity = st.capacity === undefined ? est : st.capacity + 0.05 * (est - st.capacity);
        }
        const capacity = p.capacity ?? (next.capacity as number | undefined);
        const perInstance = p.target ?? (capacity !== undefined ? capacity * p.targetUtilization : undefined);

        if (value === undefined) {
          return recommend(
            current,
            `no ${p.metric} data: keep ${current}`,
            { metric: p.metric, value: null, source: 'none' },
            { state: next },
          );
        }
        advance(c, now, value);
        tick.fed = true;
        tick.value = value;
        tick.queue = Number.isFinite(obs.queue) ? Math.max(0, obs.queue) : 0;

        if (perInstance === undefined) {
          // no way to turn load into instances yet: track CPU at the target utilisation
          if (obs.ready > 0 && obs.cpu > 0) {
            // HPA-style: desired = ceil(ready × cpu / target), at a CPU target that leaves room for
            // the measurement to happen (at 100 % the served load says nothing about capacity)
            const desired = Math.ceil((obs.ready * obs.cpu) / UNKNOWN_CAPACITY_CPU_TARGET - 1e-9);
            return recommend(
              desired,
              `capacity unknown: cpu ${round(obs.cpu)} vs ${UNKNOWN_CAPACITY_CPU_TARGET}`,
              { metric: 'cpu', value: obs.cpu, target: UNKNOWN_CAPACITY_CPU_TARGET, source: 'reactive-cpu' },
              { state: next },
            );
          }
          return recommend(
            current,
            'capacity unknown and no CPU reading: keep current',
            { metric: p.metric, value, source: 'none' },
            { state: next },
          );
        }

        // The windows below are the buffers plus this tick (value, tick.queue), read in place.
        let sum = 0;
        for (let i = 0; i < c.recentV.length; i++) sum += c.recentV[i]!;
        sum += value;
        // demand: the mean of the last `window_s` (so one-second bursts are absorbed), or more if
        // the load has stayed higher for the last `surge_s` (a sustained step is followed at once)
        let sustained = value;
        for (let i = c.recentV.length - 1; i >= 0 && c.recentT[i]! > now - p.surgeS * 1000; i--)
          sustained = Math.min(sustained, c.recentV[i]!);
        // plus the backlog: draining `queue` requests within `drain_s` needs queue / drain_s more (Little)
        // (only a backlog that has lasted `surge_s`: a one-second burst drains by itself)
        let queued = tick.queue;
        for (let i = c.recentQ.length - 1; i >= 0 && c.recentT[i]! > now - p.surgeS * 1000; i--)
          queued = Math.min(queued, c.recentQ[i]!);
        const backlog = p.metric === 'rps' && Number.isFinite(queued) && queued > 0 ? queued / p.drainS : 0;
        const demand =
          Math.max(sum / (c.recentV.length + 1), Number.isFinite(sustained) ? sustained : value) + backlog;
        const perFallback =
          p.target !== undefined
            ? (p.target * p.fallbackUtilization) / p.targetUtilization
            : (perInstance * p.fallbackUtilization) / p.targetUtilization;

        const startupS = p.startupS ?? obs.startup_s ?? 30;
        const aheadMs = (startupS + p.marginS) * 1000;
        // buckets ahead: h = 1 is the bucket being filled now
        const hMax = 1 + Math.floor((now + aheadMs) / bucketMs) - c.cur;
        maybeRefit(c, hMax);
        const m = c.model;
        const detail: Record<string, unknown> = {
          metric: p.metric,
          value,
          demand: round(demand),
          perInstance: round(perInstance),
          horizon_s: startupS + p.marginS,
        };
        let planned: number | undefined;
        let usable = false;
        if (m) {
          let peak = -Infinity;
          for (let h = 1; h <= hMax; h++) peak = Math.max(peak, forecastAhead(m, h));
          // plan for an upper quantile of the load: the forecast plus the `quantile` of its own
          // h-step errors on the holdout, scaled by sqrt(level) (Poisson-like traffic); empirical
          // rather than Gaussian, so rare bursts do not inflate the everyday margin
          planned = Math.max(0, peak + Math.max(0, errorQuantile(m, p.quantile, peak)));
          usable = m.accuracy.points >= 4 && m.accuracy.wape <= p.maxError;
          detail.forecast = round(peak);
          detail.planned = round(planned);
          detail.model = m.kind;
          detail.season = m.season;
          detail.wape = round(m.accuracy.wape);
          detail.rmse = round(m.accuracy.rmse);
        }
        detail.buckets = c.buckets.length;
        // Reactive answers: at the fallback utilisation when flying blind, at the target utilisation
        // as the floor under a trusted forecast (the forecast only ever raises it).
        // the burst level: an order statistic of the window's sorted values with this tick's inserted
        const bs = c.burstSorted;
        const rank = Math.min(bs.length, quantileUpperRank(bs.length + 1, p.burstQuantile, p.burstZ));
        const at = lowerBound(bs, value);
        const burst = rank < at ? bs[rank]! : rank === at ? value : bs[rank - 1]!;
        // follow a surge above the burst level only where surges tend to outlast the startup time:
        // an instance launched for a shorter one is ready after it has gone (ski rental again)
        let lasting = 1;
        let surgeSince = NaN;
        if (p.burstQuantile > 0) {
          lasting = surgeLasting(c, now, value, startupS * 1000);
          surgeSince = value > burst ? (Number.isNaN(c.surgeSince) ? now : c.surgeSince) : NaN;
          tick.surge = true;
          tick.burst = burst;
          tick.startupMs = startupS * 1000;
        }
        // ...unless this one has already lasted `surge_follow_s`: a rise the window has not seen
        // before (a step) must not wait for the window to learn it
        const surgeMs = now - surgeSince;
        const follow =
          demand <= burst ||
          lasting >= p.surgePersistence ||
          surgeMs >= (p.surgeFollowS ?? startupS / 2) * 1000;
        const need = follow ? demand : burst;
        const fallback = Math.ceil(Math.max(need, burst) / perFallback - 1e-9);
        detail.burst = round(burst);
        detail.surges_lasting = round(lasting);
        const floor = staffed(need / perInstance, p.staffingBeta);
        const forecasted = planned === undefined ? 0 : staffed(planned / perInstance, p.staffingBeta);
        const logs: string[] = [];
        let desired: number;
        let source: string;
        let trusted = false;
        if (!usable || p.mode === 'forecast-only') {
          desired = fallback;
          source = !m
            ? 'reactive (history short)'
            : !usable
              ? 'reactive (forecast poor)'
              : 'reactive (forecast-only)';
          if (usable && p.mode === 'forecast-only') {
            const would = Math.max(floor, forecasted);
            if (would !== fallback)
              logs.push(
                `forecast-only: would scale to ${would} (forecast ${round(detail.forecast as number)} ${p.metric} within ${startupS + p.marginS}s), reactive ${fallback}`,
              );
            detail.would = would;
          }
        } else {
          trusted = true;
          desired = Math.max(floor, forecasted);
          source = forecasted > floor ? 'forecast' : 'reactive';
        }
        // scale in only after the answer has stayed lower for `scale_in_delay` (max over the window):
        // the deque's entries above raw (commit() drops the others), then raw itself
        const raw = desired;
        // ski rental: keeping an instance for the startup time costs no more than releasing it and
        // launching it again (a startup billed while it serves nothing, and the load unserved)
        const trustedHoldMs = p.trustedScaleInDelayMs ?? startupS * 1000;
        tick.hold = true;
        tick.raw = raw;
        tick.keepMs = Math.max(p.scaleInDelayMs, trustedHoldMs);
        let above = c.holdV.length;
        while (above > 0 && c.holdV[above - 1]! <= raw) above--;
        // A trusted forecast already plans for the highest load until a new instance could be
        // ready (startup + margin), so holding longer than that only pays for load the plan says
        // will not come: release after the look-ahead instead of `scale_in_delay`.
        // (holdMs <= keepMs, so what commit() drops after keepMs is skipped here anyway.)
        const holdMs = trusted ? trustedHoldMs : p.scaleInDelayMs;
        let first = 0;
        while (first < above && c.holdT[first]! <= now - holdMs) first++;
        desired = first < above ? c.holdV[first]! : raw;
        if (desired > raw) detail.held = desired;
        detail.raw = raw;
        detail.reactive = fallback;
        detail.floor = floor;
        detail.forecasted = planned === undefined ? null : forecasted;
        detail.source = source;
        return recommend(
          desired,
          source === 'forecast'
            ? `forecast ${round(detail.forecast as number)} ${p.metric} within ${startupS + p.marginS}s needs ${desired}`
            : `${source}: ${p.metric} ${round(demand)} / ${round(perInstance)} per instance`,
          detail,
          { state: next, logs },
        );
      } catch (err) {
        return failure('predictive', err);
      }
    },
  };
}

/**
 * Instances for a load of `d` instances' worth at full utilisation, with square-root staffing
 * headroom: n = d + β√d (Halfin & Whitt 1981; Borst, Mandelbaum & Reiman 2004), so the spare
 * capacity grows with √load, as the queueing delay of pooled servers requires.
 */
function staffed(d: number, beta: number): number {
  if (!(d > 0)) return 0;
  return Math.ceil(d + beta * Math.sqrt(d) - 1e-9);
}

/**
 * The rank (0-based, in an ascending sample of `n`) of a distribution-free upper confidence bound
 * on the `q` quantile: the count of samples below the quantile is Binomial(n, q), so its bound is
 * nq + z√(nq(1 − q)) (normal approximation; Hahn & Meeker, "Statistical Intervals", §5.2). A
 * young window (few samples) reads a higher order statistic than a full one.
 */
function quantileUpperRank(n: number, q: number, z: number): number {
  return Math.floor(q * n + z * Math.sqrt(n * q * (1 - q)));
}

/** Removes the leading entries of `times` (ascending) at or before `cutoff`, and as many of each of `parallel`. */
function dropThrough(cutoff: number, times: number[], ...parallel: unknown[][]): void {
  let n = 0;
  while (n < times.length && times[n]! <= cutoff) n++;
  if (n === 0) return;
  times.splice(0, n);
  for (const a of parallel) a.splice(0, n);
}

/** First index of `xs` (ascending) whose value is >= `v`. */
function lowerBound(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
