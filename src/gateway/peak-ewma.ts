/**
 * Peak EWMA latency (Finagle's PeakEwma, used by ingress-nginx, APISIX `ewma`, Kong `latency`):
 * a sample above the average replaces it at once (react to a slow instance immediately), a sample
 * below decays towards it with weight w = e^(−Δt/τ), so old fast samples do not hide new slowness.
 */

/** Folds one latency sample into `ep.ewmaMs` at time `now`. */
export function updatePeakEwma(
  ep: { ewmaMs: number; ewmaAt: number },
  rttMs: number,
  now: number,
  decayMs: number,
): void {
  if (ep.ewmaAt === 0 || rttMs > ep.ewmaMs) {
    ep.ewmaMs = rttMs;
  } else {
    const dt = now - ep.ewmaAt;
    const w = dt > 0 ? Math.exp(-dt / decayMs) : 1;
    ep.ewmaMs = ep.ewmaMs * w + rttMs * (1 - w);
  }
  ep.ewmaAt = now;
}

/**
 * P2C cost: (inflight + 1) × latency, divided by the slow-start weight so a warming instance looks
 * proportionally more expensive. As in Finagle (whose `get` observes a 0 sample), the latency read
 * decays towards zero with the time since the last sample, so an instance that lost a few picks
 * after one slow sample (e.g. its first request paid for the TCP connect) is tried again rather
 * than starved forever. An instance without samples counts as 1 ms.
 */
export function peakEwmaCost(
  ep: { inflight: number; ewmaMs: number; ewmaAt: number; weight: number },
  now: number,
  decayMs: number,
): number {
  let latency = 1;
  if (ep.ewmaMs > 0) {
    const dt = now - ep.ewmaAt;
    latency = dt > 0 ? ep.ewmaMs * Math.exp(-dt / decayMs) : ep.ewmaMs;
  }
  return ((ep.inflight + 1) * latency) / ep.weight;
}
