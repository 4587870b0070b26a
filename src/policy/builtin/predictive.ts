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
 *   guard (issue 22, `guard`, on by default): the answer is at least min(R, S), R the highest
 *                ceil(demand / (perInstance × guard_utilization)) of the last `guard_window_s` (an
 *                HPA-style rule evaluated every tick), S the square-root staffing of an upper bound on
 *                the load of the next startup time calibrated online (upper-bound-tracker.ts): a tick
 *                is a miss when the load a startup time later (`coverage_score: end`; `max`: the
 *                highest load of that stretch) outgrew the fleet S sized for it, so a one-second
 *                burst is one miss, not one per tick before it; the bound widens by
 *                `coverage_step` after a miss and narrows slowly otherwise, so the fleet's misses
 *                settle at 1 − `coverage` of the ticks on any trace; until `guard_warmup` ticks are
 *                scored, R. It goes below the reactive rule only where the trace's own record says
 *                fewer hold, and on a flash crowd or per-second bursts R wins. With `guard_follow`
 *                (default) R's demand is `need`: a surge above the burst level counts as in the
 *                other answers (see "surges"), so R launches nothing for a burst that is over
 *                before an instance could be ready, and follows a step within surge_follow_s
   risk budget (issue 22, `risk_share`): a shadow HPA (predictive-risk-budget.ts: 15 s sync, CPU
                saturating at 100 %, 300 s scale-down stabilization, startup_s to start) runs on the
                same load, and each tick counts for it and for the real fleet whether the load was
                above `risk_knee` of the ready capacity or a backlog waited. While the fleet has
                spent less than `risk_share` of the shadow's over-capacity seconds, R's utilisation
                rises from `guard_utilization` towards `guard_utilization_max` (all the way with
                `risk_scale_s` seconds to spare) and the other answers shrink in the same proportion
                (`risk_shrink`): the margin the HPA would not have needed on this trace is given back
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
 * The guard's defaults were chosen by leave-one-family-out cross-validation over traces derived
 * from the shared ones (docs/backtests.md, "Cross-validation"; scripts/predictive-cv.ts), the
 * others on the backtests of docs/backtests.md; the trade-off each knob moves is described in
 * docs/builtin-policies.md.
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
import { errorQuantile, forecastAhead } from '../../metrics/forecast.js';
import { readMetric } from './read-metric.js';
import { failure, recommend } from './outcome.js';
import { parsePredictiveParams } from './predictive-params.js';
import { PredictiveCache } from './predictive-cache.js';
import { lowerBound } from './sorted-window.js';
import { quantileUpperRank, staffed } from './staffing.js';
import { shedRate } from '../../signals/index.js';

export { parsePredictiveParams, type PredictiveParams } from './predictive-params.js';

/** CPU percent tracked while the capacity per instance is not known yet (the HPA's usual 70 %). */
const UNKNOWN_CAPACITY_CPU_TARGET = 70;

/** Creates the predictive policy. */
export function predictive(params: Readonly<Record<string, unknown>>): Policy {
  const p = parsePredictiveParams(params);
  const caches = new Map<string, PredictiveCache>();
  const bucketMs = p.bucketS * 1000;

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
          c.commit(); // the next tick, with the state returned for the pending one
          c.base = pending;
        } else if (!(c && st.at !== undefined && st.at === c.base && now >= pending)) {
          c = new PredictiveCache(p, ctx, st.at);
          caches.set(ctx.service, c);
        } // else: the pending tick again, or one whose result was dropped: forget it
        const tick = c.pending;
        tick.now = now;
        tick.fed = tick.surge = tick.guard = tick.hold = tick.risk = false;
        const next: Record<string, unknown> = { ...ctx.state, at: now };
        if ('token' in next) delete next.token; // the cache's key before `at`
        const current = obs.replicas;
        const value = obs.fresh === false ? undefined : readMetric(obs, p.metric);

        // capacity per instance, measured from served load and CPU when not given
        if (
          p.capacity === undefined &&
          obs.ready > 0 &&
          obs.cpu !== undefined &&
          obs.cpu >= 20 &&
          obs.cpu <= 95
        ) {
          const served = Math.max(0, (value ?? 0) - (p.metric === 'rps' ? shedRate(obs) : 0));
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
        c.advance(now, value);
        tick.fed = true;
        tick.value = value;
        tick.queue = Number.isFinite(obs.queue) ? Math.max(0, obs.queue) : 0;

        if (perInstance === undefined) {
          // no way to turn load into instances yet: track CPU at the target utilisation
          if (obs.ready > 0 && obs.cpu !== undefined && obs.cpu > 0) {
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
        c.refit(hMax);
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
          lasting = c.surgeLasting(now, value, startupS * 1000);
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
        if (p.guard) {
          // the guard (issue 22): no fewer instances than the reactive HPA-style rule unless the
          // calibrated bound on the load of the next startup + margin says fewer hold
          // the risk budget: while the fleet has spent less than its share of a shadow HPA's
          // over-capacity seconds, the reactive rule runs at a higher utilisation
          const spare = p.riskShare > 0 ? c.risk.spare() : 0;
          const loosen = Math.min(1, Math.max(0, spare / p.riskScaleS));
          const util = p.guardUtilization + Math.max(0, p.guardUtilizationMax - p.guardUtilization) * loosen;
          // (guard_follow) a surge above the burst level counts only as it does in the other
          // answers: while the window's surges outlast the startup time, or once this one has
          // lasted surge_follow_s; an instance launched for a burst that is over before it is
          // ready only pays for its startup and the window it is kept for
          const reactive = Math.ceil((p.guardFollow ? need : demand) / (perInstance * util) - 1e-9);
          let hpaLike = reactive;
          for (let i = 0; i < c.guardT.length; i++)
            if (c.guardT[i]! > now - p.guardWindowS * 1000) {
              hpaLike = Math.max(hpaLike, c.guardV[i]!);
              break;
            }
          const bound = c.bound.bound(demand, perInstance);
          const calibrated = c.bound.resolved >= p.guardWarmup;
          const holdsAlways = staffed(bound / perInstance, p.staffingBeta);
          const holds = calibrated ? holdsAlways : hpaLike;
          const guard = Math.min(hpaLike, holds);
          tick.guard = true;
          tick.estimate = demand;
          tick.unit = perInstance;
          tick.reactive = reactive;
          // the bound is scored by whether the fleet sized from it held the load (not by the bound
          // itself): the staffing headroom and the rounding count, so it is no wider than needed
          tick.serves = holdsAlways * perInstance;
          detail.guard = guard;
          detail.guard_r = hpaLike;
          detail.guard_s = holds;
          detail.guard_utilization = round(util);
          detail.risk_spare = round(spare);
          detail.risk_shadow = round(c.risk.shadowMiss);
          detail.risk_own = round(c.risk.ownMiss);
          tick.risk = true;
          tick.ready = obs.ready;
          tick.capacity = capacity ?? perInstance / p.targetUtilization;
          detail.bound = round(bound);
          detail.bound_q = round(c.bound.q);
          if (loosen > 0 && p.riskShrink) {
            // spare risk shrinks the other answers' headroom in the same proportion
            const shrunk = Math.ceil((desired * p.guardUtilization) / util - 1e-9);
            if (shrunk < desired) {
              detail.unshrunk = desired;
              desired = shrunk;
            }
          }
          if (guard > desired) {
            desired = guard;
            source = 'guard';
          }
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

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
