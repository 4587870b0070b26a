/**
 * The gateway signals as the live controller reads them: averages over the last `window`
 * seconds (config `scaling.window`, 2 s by default), read at every decision whatever the
 * interval. A ring of the last `window` simulated seconds; a batch of k identical seconds writes
 * at most `window` entries, so a steady hour costs no more than a steady minute.
 */
import {
  SIGNAL_COUNT,
  signalIndexes,
  signalsFromValues,
  type SignalName,
  type SignalRecord,
} from '../signals/index.js';
import { WindowLatency, type LatencyTriple } from './latency-mix.js';
import type { SecondSample } from './queue-model.js';

/** One simulated second, as far as the signals go. */
export interface SecondSignals extends LatencyTriple {
  offered: number;
  served: number;
  dropped: number;
  cpu: number;
  inflight: number;
}

/** The signals a decision sees, averaged over the window. */
export interface WindowSignals {
  rps: number;
  cpu: number;
  inflight: number;
  shed_rps: number;
  error_rate: number;
  latency: LatencyTriple;
}

/** The provider's counts in one simulated second. */
export interface FleetCounts {
  /** Starting + ready. */
  replicas: number;
  ready: number;
  starting: number;
}

/** A fresh object for {@link fillSecondSignals} to fill: every catalogue signal 0, the optional ones (`llm.*`) absent. */
export function emptySecondSignals(): SignalRecord<SignalName> {
  return signalsFromValues(EMPTY_SECOND, 0);
}
const EMPTY_SECOND = new Float64Array(SIGNAL_COUNT);
for (const i of signalIndexes((s) => 'optional' in s && s.optional === true)) EMPTY_SECOND[i] = Number.NaN;

/**
 * Writes every catalogue signal of one simulated second into `out`, as the live gateway and
 * provider would report it (what the history keeps): the simulator's counterpart of the
 * gateway's measuring code (src/gateway/signals/key-stats.ts).
 */
export function fillSecondSignals(out: SignalRecord<SignalName>, s: SecondSample, fleet: FleetCounts): void {
  out.cpu = s.cpu;
  out.memory = 0;
  out.rps = s.offered;
  out.inflight = s.inflight;
  out.queue = s.queue;
  out.shed_rps = s.dropped;
  out.latency.p50 = s.p50;
  out.latency.p95 = s.p95;
  out.latency.p99 = s.p99;
  out.error_rate = s.offered > 0 ? Math.min(1, s.dropped / s.offered) : 0;
  out.replicas = fleet.replicas;
  out.ready = fleet.ready;
  out.starting = fleet.starting;
}

/** A ring of the last `seconds` seconds of signals. */
export class SignalWindow {
  readonly seconds: number;
  readonly #offered: Float64Array;
  readonly #served: Float64Array;
  readonly #dropped: Float64Array;
  readonly #cpu: Float64Array;
  readonly #inflight: Float64Array;
  readonly #p50: Float64Array;
  readonly #p95: Float64Array;
  readonly #p99: Float64Array;
  readonly #latency = new WindowLatency();
  readonly #triple = { p50: 0, p95: 0, p99: 0 };
  #head = 0;
  #filled = 0;

  constructor(seconds: number) {
    this.seconds = Math.max(1, Math.round(seconds));
    const n = this.seconds;
    this.#offered = new Float64Array(n);
    this.#served = new Float64Array(n);
    this.#dropped = new Float64Array(n);
    this.#cpu = new Float64Array(n);
    this.#inflight = new Float64Array(n);
    this.#p50 = new Float64Array(n);
    this.#p95 = new Float64Array(n);
    this.#p99 = new Float64Array(n);
  }

  /** Records `count` consecutive identical seconds (the simulator batches only seconds that drop nothing). */
  push(s: SecondSignals, count = 1): void {
    const n = Math.min(count, this.seconds);
    for (let i = 0; i < n; i++) {
      const h = this.#head;
      this.#offered[h] = s.offered;
      this.#served[h] = s.served;
      this.#dropped[h] = i === 0 ? s.dropped : 0;
      this.#cpu[h] = s.cpu;
      this.#inflight[h] = s.inflight;
      this.#p50[h] = s.p50;
      this.#p95[h] = s.p95;
      this.#p99[h] = s.p99;
      this.#head = (h + 1) % this.seconds;
    }
    this.#filled = Math.min(this.seconds, this.#filled + n);
  }

  /** Averages over the seconds recorded so far (at most the window). */
  read(): WindowSignals {
    const n = this.#filled;
    let offered = 0;
    let dropped = 0;
    let cpu = 0;
    let inflight = 0;
    const lat = this.#latency;
    lat.reset();
    const t = this.#triple;
    for (let j = 0; j < n; j++) {
      const i = (this.#head - n + j + this.seconds) % this.seconds;
      offered += this.#offered[i]!;
      dropped += this.#dropped[i]!;
      cpu += this.#cpu[i]!;
      inflight += this.#inflight[i]!;
      t.p50 = this.#p50[i]!;
      t.p95 = this.#p95[i]!;
      t.p99 = this.#p99[i]!;
      lat.add(t, this.#served[i]!);
    }
    const d = Math.max(1, n);
    return {
      rps: offered / d,
      cpu: cpu / d,
      inflight: inflight / d,
      shed_rps: dropped / d,
      error_rate: offered > 0 ? Math.min(1, dropped / offered) : 0,
      latency: lat.quantiles({ p50: 0, p95: 0, p99: 0 }),
    };
  }
}
