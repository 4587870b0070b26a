/**
 * What luascale knows about each model-server instance right now: the engine's last scraped signals
 * (engine-scraper.ts) and the prompt + output tokens the gateway has in flight there (the front
 * door adds a request's tokens when it dispatches and takes them off when the response ends).
 *
 * Per instance: fresh (scraped within `maxAgeMs`) → stale (a scrape failed or timed out, or the
 * last success is older than `maxAgeMs`). Stale values are never reused: `signals()` returns
 * undefined, so the balancer treats the instance's queue and KV as unknown, never as 0.
 */
import type { EngineSignals } from '../engines/engine-metrics.js';

interface Entry {
  signals: EngineSignals | undefined;
  at: number;
  inflightTokens: number;
}

/** The per-instance LLM state the balancer reads and the scraper and front door write. */
export class LlmInstanceStates {
  /** A scrape older than this (ms) is stale. */
  readonly maxAgeMs: number;
  readonly #m = new Map<string, Entry>();

  constructor(options: { maxAgeMs?: number } = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 3000;
  }

  #entry(id: string): Entry {
    let e = this.#m.get(id);
    if (e === undefined) this.#m.set(id, (e = { signals: undefined, at: -Infinity, inflightTokens: 0 }));
    return e;
  }

  /** A successful scrape of `id` at monotonic time `at`. */
  update(id: string, signals: EngineSignals, at: number): void {
    const e = this.#entry(id);
    e.signals = signals;
    e.at = at;
  }

  /** A failed or timed-out scrape: the previous values are dropped, not reused. */
  markStale(id: string): void {
    const e = this.#entry(id);
    e.signals = undefined;
  }

  /** The engine's signals for `id` when fresh at `now`, else undefined. */
  signals(id: string, now: number): EngineSignals | undefined {
    const e = this.#m.get(id);
    if (e === undefined || e.signals === undefined || now - e.at > this.maxAgeMs) return undefined;
    return e.signals;
  }

  /** Whether `id` has fresh values at `now`. */
  isFresh(id: string, now: number): boolean {
    return this.signals(id, now) !== undefined;
  }

  /** Adds (or, negative, removes) tokens in flight at `id`. */
  addInflightTokens(id: string, tokens: number): void {
    const e = this.#entry(id);
    e.inflightTokens = Math.max(0, e.inflightTokens + tokens);
  }

  /** Prompt + output tokens the gateway has in flight at `id`. */
  inflightTokens(id: string): number {
    return this.#m.get(id)?.inflightTokens ?? 0;
  }

  /** Instance ids known. */
  ids(): IterableIterator<string> {
    return this.#m.keys();
  }

  /** The instance left the pool. */
  forget(id: string): void {
    this.#m.delete(id);
  }
}
