/**
 * The engine's scheduler: at most `maxNumSeqs` sequences run at once (vLLM `--max-num-seqs`), the
 * rest wait in a FIFO queue of at most `maxWaiting` (llm-d `max-waiting-queue-length`); beyond it a
 * request is refused (the server answers 429). A waiting sequence starts when a seat and its KV
 * blocks are free.
 *
 * A sequence's states: waiting → prefill → decode → done, or aborted from any of them (the client
 * went away). Its first token comes after the prefill time, each next one after an inter-token gap,
 * both computed (timing-model.ts) at the load of the moment they are scheduled, then multiplied by
 * `timeScale` into real milliseconds on the injected clock.
 */
import type { KvCache, KvLease } from './kv-cache.js';
import { interTokenMs, prefillMs, type TimingParams } from './timing-model.js';
import type { Random } from './random.js';

/** Time and timers, injected so unit tests run on a manual clock. */
export interface SimClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** The process clock. */
export const realClock: SimClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** One sequence to run. */
export interface SimJob {
  /** The prompt's token ids (for the prefix cache). */
  promptTokens: readonly number[];
  /** How many tokens it generates. */
  outputTokens: number;
  /** Jitter source (deterministic per prompt); none = no jitter. */
  random?: Random;
  /** An injected stall: before token `beforeToken` (0 = before the first), `ms` model time (Infinity = forever). */
  stall?: { beforeToken: number; ms: number };
}

/** What the scheduler tells the job's owner. */
export interface SimJobEvents {
  /** Prefill began (left the queue). */
  onStart?(info: { queuedMs: number; cachedTokens: number }): void;
  /** Token `index` (0-based) is out. */
  onToken(index: number): void;
  /** The last token is out (after its onToken). */
  onDone(): void;
}

/** A submitted job: abort it when the client goes away. */
export interface SimJobHandle {
  abort(): void;
  readonly cachedTokens: number;
}

/** The scheduler's options. */
export interface SchedulerOptions {
  timing: TimingParams;
  maxWaiting: number;
  kv: KvCache;
  clock?: SimClock;
  /** Real ms per model ms (0.01 = 100× faster). */
  timeScale?: number;
}

interface Sequence {
  job: SimJob;
  events: SimJobEvents;
  state: 'waiting' | 'prefill' | 'decode' | 'done' | 'aborted';
  lease?: KvLease;
  next: number;
  timer?: unknown;
  /** When the next token is due (clock ms). */
  dueAt?: number;
  submittedAt: number;
}

/** Runs sequences under the seat, queue and KV limits, on the injected clock. */
export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly clock: SimClock;
  private readonly timeScale: number;
  private readonly waitingQueue: Sequence[] = [];
  private runningCount = 0;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.timeScale = options.timeScale ?? 1;
  }

  /** Sequences in prefill or decode. */
  get running(): number {
    return this.runningCount;
  }

  /** Sequences in the queue. */
  get waiting(): number {
    return this.waitingQueue.length;
  }

  /** Queues or starts a job; undefined when the queue is full (the caller answers 429). */
  submit(job: SimJob, events: SimJobEvents): SimJobHandle | undefined {
    const seq: Sequence = { job, events, state: 'waiting', next: 0, submittedAt: this.clock.now() };
    if (this.waitingQueue.length === 0 && this.tryStart(seq)) return this.handle(seq);
    if (this.waitingQueue.length >= this.options.maxWaiting) return undefined;
    this.waitingQueue.push(seq);
    return this.handle(seq);
  }

  private handle(seq: Sequence): SimJobHandle {
    return {
      abort: () => this.abort(seq),
      get cachedTokens() {
        return seq.lease?.cachedTokens ?? 0;
      },
    };
  }

  private tryStart(seq: Sequence): boolean {
    if (this.runningCount >= this.options.timing.maxNumSeqs) return false;
    const lease = this.options.kv.acquire(seq.job.promptTokens, seq.job.outputTokens);
    if (!lease) return false;
    seq.lease = lease;
    seq.state = 'prefill';
    this.runningCount++;
    seq.events.onStart?.({
      queuedMs: this.clock.now() - seq.submittedAt,
      cachedTokens: lease.cachedTokens,
    });
    const model = prefillMs(
      {
        promptTokens: seq.job.promptTokens.length,
        cachedTokens: lease.cachedTokens,
        running: this.runningCount,
      },
      this.options.timing,
      seq.job.random,
    );
    this.schedule(seq, model);
    return true;
  }

  private schedule(seq: Sequence, modelMs: number): void {
    const stall = seq.job.stall;
    let delay = modelMs;
    if (stall && stall.beforeToken === seq.next) {
      if (stall.ms === Infinity) return; // hangs until aborted
      delay += stall.ms;
    }
    // Deadlines are absolute (the previous token's due time + the gap), not "now + gap": a timer
    // that fires late (timers have 1 ms granularity; a busy loop adds more) shortens the next wait
    // instead of pushing every later token back, so a sequence's total time stays on the formula.
    const now = this.clock.now();
    seq.dueAt = (seq.dueAt ?? now) + delay * this.timeScale;
    seq.timer = this.clock.setTimer(() => this.emit(seq), Math.max(0, seq.dueAt - now));
  }

  private emit(seq: Sequence): void {
    seq.timer = undefined;
    if (seq.state !== 'prefill' && seq.state !== 'decode') return;
    if (seq.state === 'prefill') {
      this.options.kv.commitPrompt(seq.lease!);
      seq.state = 'decode';
    }
    const index = seq.next++;
    seq.events.onToken(index);
    if (seq.state !== 'decode') return; // aborted from inside onToken
    if (seq.next >= seq.job.outputTokens) {
      this.finish(seq, 'done');
      seq.events.onDone();
      return;
    }
    this.schedule(seq, interTokenMs(this.runningCount, this.options.timing, seq.job.random));
  }

  private abort(seq: Sequence): void {
    if (seq.state === 'done' || seq.state === 'aborted') return;
    if (seq.state === 'waiting') {
      const at = this.waitingQueue.indexOf(seq);
      if (at >= 0) this.waitingQueue.splice(at, 1);
      seq.state = 'aborted';
      return;
    }
    this.finish(seq, 'aborted');
  }

  private finish(seq: Sequence, state: 'done' | 'aborted'): void {
    if (seq.timer !== undefined) this.clock.clearTimer(seq.timer);
    seq.timer = undefined;
    seq.state = state;
    this.options.kv.release(seq.lease!);
    this.runningCount--;
    this.pump();
  }

  /** Starts waiting sequences in order while seats and blocks allow (FIFO: no overtaking). */
  private pump(): void {
    while (this.waitingQueue.length > 0 && this.tryStart(this.waitingQueue[0]!)) this.waitingQueue.shift();
  }
}
