/**
 * Retry budget (Finagle's RetryBudget, Envoy's retry_budget): every request deposits `percent`/100
 * of a token, every retry withdraws one, and a floor of `minPerSecond` tokens accrues with time so
 * a quiet service can still retry. Retries therefore add at most `percent` % load on top of the
 * floor, which stops retry storms when an upstream is failing for everyone.
 */

/** Budget knobs. */
export interface RetryBudgetOptions {
  /** Extra load retries may add, in % of requests (default 20). */
  percent?: number;
  /** Retries always allowed per second regardless of traffic (default 3, Envoy's min_retry_concurrency). */
  minPerSecond?: number;
}

/** A retry budget; `now` is passed in. */
export interface RetryBudget {
  /** Records one original request. */
  deposit(now: number): void;
  /** Takes one token if available; false means do not retry. */
  tryWithdraw(now: number): boolean;
  /** Tokens available now (for tests and stats). */
  balance(now: number): number;
}

/** Creates a budget. The balance is capped at 10 s worth of floor plus 100 deposits' worth of percent. */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const ratio = (options.percent ?? 20) / 100;
  const minPerMs = (options.minPerSecond ?? 3) / 1000;
  const cap = minPerMs * 10_000 + ratio * 100;
  let tokens = minPerMs * 1000;
  let last = NaN;

  function refill(now: number): void {
    if (last === last && now > last) tokens = Math.min(cap, tokens + (now - last) * minPerMs);
    last = now;
  }
  return {
    deposit(now) {
      refill(now);
      tokens = Math.min(cap, tokens + ratio);
    },
    tryWithdraw(now) {
      refill(now);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    balance(now) {
      refill(now);
      return tokens;
    },
  };
}
