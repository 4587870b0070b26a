/**
 * What a token-trace replay measures, second by second, and what it adds up to:
 *
 * - `TokenSecond`: one simulated second's engine signals, as the live scraper and the gateway
 *   would report them (llm.waiting, llm.running, llm.kv_util, TTFT of the first tokens that came
 *   out in the second, ITL at the replicas' load, token rates, in-flight tokens).
 * - `TokenWindow`: the last `window` seconds of them, averaged for a decision (TTFT quantiles over
 *   the window's first tokens, not an average of per-second quantiles).
 * - `ttftViolationSeconds`: the TTFT-SLO verdict is by arrival second, what users saw: a second
 *   violates when the p95 TTFT of the requests that arrived in it is over the SLO, or one of them
 *   was dropped or never got a first token.
 */

/** One second of engine signals. */
export interface TokenSecond {
  offered: number;
  dropped: number;
  /** Sum of the engines' queues. */
  waiting: number;
  running: number;
  /** Mean KV use over ready replicas, 0..1. */
  kvUtil: number;
  /** Mean share of seats in use over ready replicas, percent (what `cpu` stands for here). */
  cpu: number;
  /** Requests at the gateway waiting for a ready replica. */
  gatewayQueue: number;
  itlP50: number;
  itlP95: number;
  tokensIn: number;
  tokensOut: number;
  inflightTokens: number;
  /** TTFTs (ms) of the first tokens that came out in this second. */
  ttfts: number[];
}

/** The p-quantile of `sorted` (ascending), linear between order statistics; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const x = (n - 1) * p;
  const lo = Math.floor(x);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (x - lo);
}

/** Window averages a decision sees. */
export interface TokenWindowRead {
  rps: number;
  shedRps: number;
  cpu: number;
  waiting: number;
  running: number;
  kvUtil: number;
  gatewayQueue: number;
  ttft: { p50: number; p95: number; p99: number };
  itlP50: number;
  itlP95: number;
  tokensInRps: number;
  tokensOutRps: number;
  inflightTokens: number;
}

/** A ring of the last `seconds` seconds. */
export class TokenWindow {
  readonly seconds: number;
  readonly #ring: TokenSecond[] = [];

  constructor(seconds: number) {
    this.seconds = Math.max(1, Math.round(seconds));
  }

  push(s: TokenSecond): void {
    this.#ring.push(s);
    if (this.#ring.length > this.seconds) this.#ring.shift();
  }

  /** Averages over the seconds recorded so far (at most the window); TTFT quantiles NaN without a first token. */
  read(): TokenWindowRead {
    const r = this.#ring;
    const d = Math.max(1, r.length);
    const sum = (f: (s: TokenSecond) => number) => r.reduce((a, s) => a + f(s), 0);
    const ttfts = r.flatMap((s) => s.ttfts).sort((a, b) => a - b);
    const busy = r.filter((s) => s.running > 0);
    const itlOf = (f: (s: TokenSecond) => number) =>
      busy.length > 0 ? busy.reduce((a, s) => a + f(s), 0) / busy.length : Number.NaN;
    return {
      rps: sum((s) => s.offered) / d,
      shedRps: sum((s) => s.dropped) / d,
      cpu: sum((s) => s.cpu) / d,
      waiting: sum((s) => s.waiting) / d,
      running: sum((s) => s.running) / d,
      kvUtil: sum((s) => s.kvUtil) / d,
      gatewayQueue: r.length > 0 ? r[r.length - 1]!.gatewayQueue : 0,
      ttft: {
        p50: quantileSorted(ttfts, 0.5),
        p95: quantileSorted(ttfts, 0.95),
        p99: quantileSorted(ttfts, 0.99),
      },
      itlP50: itlOf((s) => s.itlP50),
      itlP95: itlOf((s) => s.itlP95),
      tokensInRps: sum((s) => s.tokensIn) / d,
      tokensOutRps: sum((s) => s.tokensOut) / d,
      inflightTokens: sum((s) => s.inflightTokens) / d,
    };
  }
}

/**
 * Seconds whose arrivals saw a TTFT p95 over `sloMs` or lost a request (see the header).
 * `ttft[i]` is request i's TTFT in ms: NaN when dropped, Infinity when it never got a first token.
 */
export function ttftViolationSeconds(atMs: Float64Array, ttft: Float64Array, sloMs: number): number {
  let violations = 0;
  let i = 0;
  const group: number[] = [];
  while (i < atMs.length) {
    const second = Math.floor(atMs[i]! / 1000);
    group.length = 0;
    let lost = false;
    while (i < atMs.length && Math.floor(atMs[i]! / 1000) === second) {
      const v = ttft[i]!;
      if (Number.isNaN(v) || v === Infinity) lost = true;
      else group.push(v);
      i++;
    }
    if (lost) {
      violations++;
      continue;
    }
    group.sort((a, b) => a - b);
    if (quantileSorted(group, 0.95) > sloMs) violations++;
  }
  return violations;
}

/** TTFT p50/p95/p99 (ms) over the requests that got a first token. */
export function ttftQuantiles(ttft: Float64Array): { p50: number; p95: number; p99: number } {
  const ok = Array.from(ttft).filter((v) => Number.isFinite(v));
  ok.sort((a, b) => a - b);
  const q = (p: number) => (ok.length > 0 ? Math.round(quantileSorted(ok, p) * 10) / 10 : 0);
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}
