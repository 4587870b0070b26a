/**
 * One simulated model server (a vLLM-like engine) for token-trace replays, on llm-sim's timing
 * (src/llm-sim/timing-model.ts, llm-d-inference-sim's formulas) and llm-sim's scheduler rules
 * (src/llm-sim/scheduler.ts): at most `maxNumSeqs` sequences run, the rest wait in a FIFO of at
 * most `maxWaiting`; a waiting request starts when a seat and the KV blocks of its prompt plus
 * output are free (no overtaking). A request's prefill takes prefillMs() at the load of the moment
 * it starts; each output token after the first takes interTokenMs() at the load of the moment.
 *
 * Event-driven, without one event per token: between two events of a replica (a prefill ends, a
 * sequence ends, one starts) the running count n is constant, so every decoding sequence moves at
 * the same rate, 1 / (ITL × loadFactor(n)) tokens per ms. The replica keeps a virtual clock V that
 * advances at 1 / loadFactor(n) per ms; a sequence that starts decoding at V0 with (out − 1) tokens
 * to go ends at V0 + (out − 1) × ITL. Advancing a replica with no event due is O(1). The trace has
 * no prompt text, so nothing is a prefix hit (cached tokens 0) and jitter is off (std-dev 0).
 *
 * Sequence states: waiting → prefill → decode → done; a waiting request older than the queue
 * timeout is dropped (the client gave up), as is one that can never fit (longer than maxModelLen
 * or than the whole KV cache) or that finds the queue full.
 */
import { loadFactor, prefillMs, type TimingParams } from '../llm-sim/timing-model.js';

/** The engine: llm-sim's timing parameters and limits. */
export interface EngineProfile extends TimingParams {
  /** Waiting requests at most (llm-d `max-waiting-queue-length`). */
  maxWaiting: number;
  /** KV cache blocks (llm-d `kv-cache-size`). */
  kvBlocks: number;
  /** Tokens per block (llm-d `block-size`). */
  blockSize: number;
  /** Prompt + output tokens at most (vLLM `max-model-len`). */
  maxModelLen: number;
}

/** One request of a token trace, as the engine sees it. */
export interface EngineRequest {
  /** Index into the run's arrays (TTFT by request). */
  id: number;
  /** Arrival, ms from the trace start. */
  at: number;
  contextTokens: number;
  generatedTokens: number;
}

/** What the replica reports back to the run. */
export interface EngineSink {
  /** The first token of `req` came out at `t` ms. */
  firstToken(req: EngineRequest, t: number): void;
  /** `req` was dropped at `t` ms (queue timeout, queue full, too long). */
  drop(req: EngineRequest, t: number): void;
  /** `req` finished at `t` ms. */
  done(req: EngineRequest, t: number): void;
}

interface Seq {
  req: EngineRequest;
  blocks: number;
  /** Prefill end (ms) while in prefill; NaN once decoding. */
  prefillEnd: number;
  /** Virtual time at which decoding ends. */
  finishV: number;
}

/** A model server: seats, FIFO queue, KV blocks, llm-sim's timing. */
export class EngineReplica {
  readonly profile: EngineProfile;
  readonly #sink: EngineSink;
  readonly #queueTimeoutMs: number;
  #running: Seq[] = [];
  #waiting: EngineRequest[] = [];
  #waitHead = 0;
  #usedBlocks = 0;
  #t = 0;
  #v = 0;
  #lf = 1;
  #decoding = 0;
  #nextPrefill = Infinity;
  #nextFinishV = Infinity;
  /** Output tokens produced (fractional while decoding). */
  tokensOut = 0;
  /** Prompt tokens whose prefill finished. */
  tokensIn = 0;
  /** ∫ running dt and ∫ kv usage dt since the last `takeBusy` (ms-weighted). */
  #runningArea = 0;
  #kvArea = 0;
  #areaFrom = 0;

  constructor(profile: EngineProfile, o: { sink: EngineSink; queueTimeoutMs: number; now: number }) {
    this.profile = profile;
    this.#sink = o.sink;
    this.#queueTimeoutMs = o.queueTimeoutMs;
    this.#t = o.now;
    this.#areaFrom = o.now;
  }

  /** The time (ms) the replica has been run to. */
  get now(): number {
    return this.#t;
  }

  /** Sequences in prefill or decode. */
  get running(): number {
    return this.#running.length;
  }

  /** Requests in the queue. */
  get waiting(): number {
    return this.#waiting.length - this.#waitHead;
  }

  /** Blocks in use / all blocks. */
  get kvUtil(): number {
    return this.#usedBlocks / this.profile.kvBlocks;
  }

  /** Prompt + output tokens of the running sequences and the queue (`llm.inflight_tokens`). */
  inflightTokens(): number {
    let n = 0;
    for (const s of this.#running) n += s.req.contextTokens + s.req.generatedTokens;
    for (let i = this.#waitHead; i < this.#waiting.length; i++)
      n += this.#waiting[i]!.contextTokens + this.#waiting[i]!.generatedTokens;
    return n;
  }

  /** Whether `req` can ever run here (fits the model length and the whole cache). */
  fits(req: EngineRequest): boolean {
    const tokens = req.contextTokens + req.generatedTokens;
    return tokens <= this.profile.maxModelLen && this.blocksFor(req) <= this.profile.kvBlocks;
  }

  /** Queues or starts `req` at `t` (advance to `t` first); false when the queue is full. */
  submit(req: EngineRequest, t: number): boolean {
    this.advance(t);
    if (this.waiting === 0 && this.#tryStart(req)) return true;
    if (this.waiting >= this.profile.maxWaiting) return false;
    this.#waiting.push(req);
    return true;
  }

  /** Removes and returns the queue (the replica drains: its waiting requests go elsewhere). */
  takeWaiting(): EngineRequest[] {
    const out = this.#waiting.slice(this.#waitHead);
    this.#waiting = [];
    this.#waitHead = 0;
    return out;
  }

  /** Mean running sequences and KV use since the last call (time-weighted), then resets. */
  takeBusy(t: number): { running: number; kv: number } {
    this.advance(t);
    const span = t - this.#areaFrom;
    const out =
      span > 0 ? { running: this.#runningArea / span, kv: this.#kvArea / span } : { running: 0, kv: 0 };
    this.#runningArea = this.#kvArea = 0;
    this.#areaFrom = t;
    return out;
  }

  /** Runs every event up to `to` (ms). */
  advance(to: number): void {
    for (;;) {
      const finishAt =
        this.#decoding > 0 ? this.#t + (this.#nextFinishV - this.#v) * this.#lf : Number.POSITIVE_INFINITY;
      const next = Math.min(this.#nextPrefill, finishAt);
      if (next > to) break;
      this.#move(Math.max(this.#t, next));
      this.#fire();
    }
    if (to > this.#t) this.#move(to);
    this.#expire(to);
  }

  /** Moves the clocks to `t` with no event in between. */
  #move(t: number): void {
    const dt = t - this.#t;
    if (dt <= 0) return;
    const dv = dt / this.#lf;
    this.#v += dv;
    if (this.#decoding > 0) this.tokensOut += (dv * this.#decoding) / this.profile.itlMs;
    this.#runningArea += this.#running.length * dt;
    this.#kvArea += (this.#usedBlocks / this.profile.kvBlocks) * dt;
    this.#t = t;
  }

  /** Handles every event due now: prefills that end, sequences that finish. */
  #fire(): void {
    const now = this.#t;
    const eps = 1e-6; // ms of virtual time: far below a token, far above rounding at hour-long runs
    const keep: Seq[] = [];
    let changed = false;
    for (const s of this.#running) {
      if (!Number.isNaN(s.prefillEnd) && s.prefillEnd <= now + eps) {
        s.prefillEnd = Number.NaN;
        this.tokensIn += s.req.contextTokens;
        this.tokensOut += 1;
        this.#sink.firstToken(s.req, now);
        s.finishV = this.#v + Math.max(0, s.req.generatedTokens - 1) * this.profile.itlMs;
        this.#decoding++;
        changed = true;
      }
      if (Number.isNaN(s.prefillEnd) && s.finishV <= this.#v + eps) {
        this.#decoding--;
        this.#usedBlocks -= s.blocks;
        this.#sink.done(s.req, now);
        changed = true;
        continue;
      }
      keep.push(s);
    }
    this.#running = keep;
    if (changed) this.#pump();
    this.#recompute();
  }

  #recompute(): void {
    this.#lf = loadFactor(this.#running.length, this.profile);
    let p = Infinity;
    let f = Infinity;
    for (const s of this.#running) {
      if (!Number.isNaN(s.prefillEnd)) p = Math.min(p, s.prefillEnd);
      else f = Math.min(f, s.finishV);
    }
    this.#nextPrefill = p;
    this.#nextFinishV = f;
  }

  blocksFor(req: EngineRequest): number {
    return Math.ceil((req.contextTokens + req.generatedTokens) / this.profile.blockSize);
  }

  #tryStart(req: EngineRequest): boolean {
    if (this.#running.length >= this.profile.maxNumSeqs) return false;
    const blocks = this.blocksFor(req);
    if (this.#usedBlocks + blocks > this.profile.kvBlocks) return false;
    this.#usedBlocks += blocks;
    const seq: Seq = { req, blocks, prefillEnd: 0, finishV: Infinity };
    this.#running.push(seq);
    // llm-sim: the prefill time is fixed when it starts, at the running count including itself.
    const work = { promptTokens: req.contextTokens, cachedTokens: 0, running: this.#running.length };
    seq.prefillEnd = this.#t + prefillMs(work, this.profile);
    this.#recompute();
    return true;
  }

  /** Starts waiting requests in order while seats and blocks allow (FIFO: no overtaking). */
  #pump(): void {
    while (this.#waitHead < this.#waiting.length && this.#tryStart(this.#waiting[this.#waitHead]!)) {
      this.#waitHead++;
    }
    this.#compact();
  }

  /** Drops waiting requests older than the queue timeout (they are at the head: FIFO). */
  #expire(t: number): void {
    const limit = this.#queueTimeoutMs;
    while (this.#waitHead < this.#waiting.length && t - this.#waiting[this.#waitHead]!.at > limit) {
      const req = this.#waiting[this.#waitHead++]!;
      this.#sink.drop(req, req.at + limit);
    }
    this.#compact();
    // The head may now fit where the expired one did not.
    if (this.#waitHead < this.#waiting.length && this.#running.length < this.profile.maxNumSeqs) this.#pump();
  }

  #compact(): void {
    if (this.#waitHead > 1024 && this.#waitHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitHead);
      this.#waitHead = 0;
    }
  }
}
