/**
 * The model servers of one service in a token-trace replay, with the lifecycle of fleet.ts:
 *
 *   launch ──startup s──▶ ready ──scale-down──▶ draining (finishes what runs) ──▶ stopped
 *      └──── scale-down while still starting ──────────────────────────────────▶ stopped
 *
 * A scale-down cancels the newest starting replicas first, then drains the ready replicas with
 * the least work: a draining replica takes no new request, hands its queue back to the router and
 * stops (and stops being billed) when its last sequence ends.
 *
 * Routing, as the `llm` balancer does it: replicas that are saturated (a queue of 5 or more, or
 * KV use of 0.8 or more: the llm-d router's defaults) are filtered out, and of the rest the one
 * with the fewest waiting requests, then the fewest running, then the lowest KV use is chosen.
 * When every replica is saturated (or none is ready) the request waits at the gateway, in order,
 * bounded by the queue timeout, and goes to the first replica that has room again (checked every
 * `DISPATCH_STEP_MS`) or that becomes ready: so a replica that comes up serves the backlog instead
 * of only the requests that arrive after it.
 */
import { EngineReplica, type EngineProfile, type EngineRequest, type EngineSink } from './engine-replica.js';

/** How often requests held at the gateway are offered to the replicas again, ms. */
export const DISPATCH_STEP_MS = 50;

/** The llm router's saturation filter (llm-d's defaults). */
export const SATURATED = { waiting: 5, kvUtil: 0.8 };

/** What the fleet needs. */
export interface EngineFleetOptions {
  profile: EngineProfile;
  startupS: number;
  queueTimeoutS: number;
  /** Ready replicas at t = 0. */
  initial: number;
  sink: EngineSink;
}

/** A service's model servers and its gateway queue. */
export class EngineFleet {
  readonly ready: EngineReplica[] = [];
  readonly draining: EngineReplica[] = [];
  /** Seconds at which each starting replica becomes ready, ascending. */
  readonly #starting: number[] = [];
  #gateway: EngineRequest[] = [];
  #gatewayHead = 0;
  readonly #o: EngineFleetOptions;
  readonly #startup: number;
  readonly #timeoutMs: number;

  constructor(o: EngineFleetOptions) {
    this.#o = o;
    this.#startup = Math.max(0, Math.ceil(o.startupS));
    this.#timeoutMs = o.queueTimeoutS * 1000;
    for (let i = 0; i < o.initial; i++) this.ready.push(this.#replica(0));
  }

  /** Replicas launched, not yet ready. */
  get starting(): number {
    return this.#starting.length;
  }

  /** Requests waiting at the gateway for a ready replica. */
  get gatewayQueue(): number {
    return this.#gateway.length - this.#gatewayHead;
  }

  #replica(nowMs: number): EngineReplica {
    return new EngineReplica(this.#o.profile, {
      sink: this.#o.sink,
      queueTimeoutMs: this.#timeoutMs,
      now: nowMs,
    });
  }

  /** At the start of second `t`: replicas whose startup is over become ready and take the gateway's queue. */
  promote(t: number): void {
    let n = 0;
    while (n < this.#starting.length && this.#starting[n]! <= t) n++;
    if (n === 0) return;
    this.#starting.splice(0, n);
    for (let i = 0; i < n; i++) this.ready.push(this.#replica(t * 1000));
    this.#dispatch(t * 1000);
  }

  /** A request arrives at `nowMs`: to the best unsaturated replica, else to the gateway's queue. */
  route(req: EngineRequest, nowMs: number): void {
    if (this.ready.length > 0 && !this.ready[0]!.fits(req)) {
      this.#o.sink.drop(req, nowMs);
      return;
    }
    this.#runTo(nowMs);
    this.#dispatch(nowMs);
    // Requests already held go first (FIFO), so a newcomer waits behind them.
    if (this.gatewayQueue > 0 || !this.#place(req, nowMs)) this.#gateway.push(req);
  }

  /** Offers the gateway's queue, oldest first, to replicas with room, at `nowMs`. */
  #dispatch(nowMs: number): void {
    while (this.#gatewayHead < this.#gateway.length && this.#place(this.#gateway[this.#gatewayHead]!, nowMs))
      this.#gatewayHead++;
    if (this.#gatewayHead > 1024 && this.#gatewayHead * 2 > this.#gateway.length) {
      this.#gateway = this.#gateway.slice(this.#gatewayHead);
      this.#gatewayHead = 0;
    }
  }

  /** Submits `req` to the best unsaturated replica; false when every one is saturated (or none is ready). */
  #place(req: EngineRequest, nowMs: number): boolean {
    let best: EngineReplica | undefined;
    for (const r of this.ready) {
      if (r.waiting >= SATURATED.waiting || r.kvUtil >= SATURATED.kvUtil) continue;
      if (!best || better(r, best)) best = r;
    }
    if (!best) return false;
    if (!best.submit(req, nowMs)) this.#o.sink.drop(req, nowMs); // a full engine queue: its 429
    return true;
  }

  #runTo(ms: number): void {
    for (const r of this.ready) r.advance(ms);
    for (const r of this.draining) r.advance(ms);
  }

  /** Runs every replica to `ms`, drops gateway waiters past the timeout, stops drained replicas. */
  advance(ms: number): void {
    // Held requests are offered again as replicas make room, every DISPATCH_STEP_MS.
    const from = this.ready.length > 0 ? this.ready[0]!.now : ms;
    for (let at = from + DISPATCH_STEP_MS; this.gatewayQueue > 0 && at < ms; at += DISPATCH_STEP_MS) {
      this.#runTo(at);
      this.#dispatch(at);
    }
    this.#runTo(ms);
    this.#dispatch(ms);
    for (let i = this.draining.length - 1; i >= 0; i--) {
      const r = this.draining[i]!;
      if (r.running === 0 && r.waiting === 0) this.draining.splice(i, 1);
    }
    while (
      this.#gatewayHead < this.#gateway.length &&
      ms - this.#gateway[this.#gatewayHead]!.at > this.#timeoutMs
    ) {
      const req = this.#gateway[this.#gatewayHead++]!;
      this.#o.sink.drop(req, req.at + this.#timeoutMs);
    }
  }

  /** At the end of second `t`: launches or removes replicas so that starting + ready = `desired`. */
  scaleTo(desired: number, t: number): void {
    const target = Math.max(0, Math.floor(desired));
    let live = this.ready.length + this.#starting.length;
    while (live < target) {
      this.#starting.push(t + 1 + this.#startup);
      live++;
    }
    while (live > target && this.#starting.length > 0) {
      this.#starting.pop();
      live--;
    }
    const nowMs = (t + 1) * 1000;
    while (live > target && this.ready.length > 0) {
      let at = 0;
      for (let i = 1; i < this.ready.length; i++) {
        const a = this.ready[i]!;
        const b = this.ready[at]!;
        if (a.running + a.waiting < b.running + b.waiting) at = i;
      }
      const [r] = this.ready.splice(at, 1);
      r!.advance(nowMs);
      this.draining.push(r!);
      live--;
      // Its queue goes back to the gateway, ahead of later arrivals (they came earlier).
      const back = r!.takeWaiting();
      this.#gateway = [...back, ...this.#gateway.slice(this.#gatewayHead)].sort((a, b) => a.at - b.at);
      this.#gatewayHead = 0;
      this.#dispatch(nowMs);
    }
  }
}

function better(a: EngineReplica, b: EngineReplica): boolean {
  if (a.waiting !== b.waiting) return a.waiting < b.waiting;
  if (a.running !== b.running) return a.running < b.running;
  return a.kvUtil < b.kvUtil;
}
