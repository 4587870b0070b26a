/**
 * The predictive guard's risk budget (issue 22): how many over-capacity seconds `predictive` may
 * still spend and stay no worse than the Kubernetes HPA would have been on the same traffic.
 *
 * A shadow HPA runs beside the policy on the load it observes: every `syncMs` (15 s) it reads the
 * mean load of the last sync period as CPU (saturating at 100 % of its ready instances), proposes
 * ceil(ready × cpu / target) outside the 10 % tolerance band, scales up by at most max(100 %, 4
 * instances) per sync, scales down to the highest proposal of the last `stabilizationMs` (300 s),
 * and its launches become ready a startup time later: the HPA's defaults as the decision core runs
 * them (src/policy/builtin/hpa.ts, src/controller/decide.ts). Each tick then counts, for the shadow
 * and for the real fleet (`ready`), whether the load was above `knee` of the ready capacity (a
 * second the SLO is at risk). `spare()` is `share` × the shadow's seconds − the fleet's own: the
 * guard loosens while it is positive, so over a trace the fleet's over-capacity seconds stay near
 * `share` of the shadow's whatever the traffic (the margin adapts to each trace's risk, not to the
 * traces the defaults were chosen on).
 *
 * State: the shadow's ready count, its launches in flight, its last sync, the load of the current
 * sync period, the proposals of the stabilization window, and the two counters. It only changes
 * in `record()`.
 */
import { pushWindowMax } from './sorted-window.js';

/** The HPA's default CPU target, tolerance, sync period and scale-down stabilization. */
const HPA_TARGET = 0.7;
const HPA_TOLERANCE = 0.1;

/** One tick for the risk budget. */
export interface RiskTick {
  /** Load this tick, in the load's unit. */
  load: number;
  /** The real fleet's ready instances. */
  ready: number;
  /** Load one instance serves at 100 %. */
  capacity: number;
}

/** See the file header. */
export class RiskBudget {
  /** Over-capacity seconds of the shadow HPA and of the real fleet. */
  shadowMiss = 0;
  ownMiss = 0;
  private ready: number;
  /** Instances the shadow wants (ready + starting). */
  private desired: number;
  private readonly launchAt: number[] = [];
  private lastSync = -Infinity;
  private lastT = NaN;
  /** Fluid backlogs (load units × s) of the shadow and of the fleet. */
  private shadowQ = 0;
  private ownQ = 0;
  private sum = 0;
  private n = 0;
  private readonly propT: number[] = [];
  private readonly propV: number[] = [];

  constructor(
    private readonly o: {
      share: number;
      knee: number;
      startupMs: number;
      initial: number;
      syncMs?: number;
      stabilizationMs?: number;
    },
  ) {
    this.ready = Math.max(1, o.initial);
    this.desired = this.ready;
  }

  /** `share` × the shadow's over-capacity seconds − the fleet's own. */
  spare(): number {
    return this.o.share * this.shadowMiss - this.ownMiss;
  }

  /** Folds one tick in. */
  record(now: number, t: RiskTick): void {
    const dt = Number.isNaN(this.lastT) ? 1 : Math.min(60, Math.max(0, (now - this.lastT) / 1000));
    this.lastT = now;
    let up = 0;
    while (up < this.launchAt.length && this.launchAt[up]! <= now) up++;
    if (up > 0) {
      this.launchAt.splice(0, up);
      this.ready += up;
    }
    // at risk: the load above `knee` of the ready capacity, or a backlog left from an overload
    // (a fluid queue: what the ready capacity did not serve waits, 0.1 s of it is a late second)
    this.shadowQ = Math.max(0, this.shadowQ + (t.load - this.ready * t.capacity) * dt);
    this.ownQ = Math.max(0, this.ownQ + (t.load - t.ready * t.capacity) * dt);
    const cap = t.capacity * this.o.knee;
    if (t.load > this.ready * cap || this.shadowQ > 0.1 * this.ready * t.capacity) this.shadowMiss += dt;
    if (t.load > t.ready * cap || this.ownQ > 0.1 * t.ready * t.capacity) this.ownMiss += dt;
    this.sum += t.load;
    this.n++;
    const syncMs = this.o.syncMs ?? 15_000;
    if (now - this.lastSync < syncMs) return;
    this.lastSync = now;
    const mean = this.sum / this.n;
    this.sum = 0;
    this.n = 0;
    // CPU of the ready instances saturates at 100 %: the HPA cannot see load beyond it
    const cpu = this.ready > 0 ? Math.min(1, mean / (this.ready * t.capacity)) : 1;
    const ratio = cpu / HPA_TARGET;
    let want = this.desired;
    if (this.ready === 0) want = Math.max(1, this.desired);
    else if (ratio > 1 + HPA_TOLERANCE || ratio < 1 - HPA_TOLERANCE)
      want = Math.max(1, Math.ceil((this.ready * cpu) / HPA_TARGET - 1e-9));
    // scale-down stabilization: the highest proposal of the window
    pushWindowMax(this.propT, this.propV, now, want);
    let drop = 0;
    const stabMs = this.o.stabilizationMs ?? 300_000;
    while (drop < this.propT.length - 1 && this.propT[drop]! <= now - stabMs) drop++;
    if (drop > 0) {
      this.propT.splice(0, drop);
      this.propV.splice(0, drop);
    }
    let next = want > this.desired ? want : Math.min(this.desired, this.propV[0]!);
    next = Math.min(next, Math.max(2 * this.desired, this.desired + 4));
    if (next > this.desired) {
      for (let i = this.desired; i < next; i++) this.launchAt.push(now + this.o.startupMs);
    } else if (next < this.desired) {
      let cut = this.desired - next;
      const pending = Math.min(cut, this.launchAt.length);
      this.launchAt.splice(this.launchAt.length - pending, pending);
      cut -= pending;
      this.ready -= cut;
    }
    this.desired = next;
  }
}
