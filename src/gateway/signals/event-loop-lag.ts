/**
 * Event-loop lag from perf_hooks `monitorEventLoopDelay`: a libuv timer every `resolutionMs` whose
 * lateness is recorded in a histogram (ns). An idle loop reads ≈ resolution, so lag = p99 − resolution.
 * Read at most once a second (each read resets the histogram), and kept in a per-second window:
 * a saturation signal the proxy's own latency hides (Envoy's `loop_duration_us` plays this role).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { GaugeWindow } from '../../metrics/gauge-window.js';

/** Event-loop lag readings over a sliding window. */
export interface EventLoopLag {
  /** Takes a reading if a second has passed since the last one (call it from any reader). */
  sample(now: number): void;
  /** Mean of the per-second p99 lag readings over the last `windowS` seconds, ms. */
  lagMs(now: number, windowS: number): number;
  /** Largest per-second p99 reading over the last `windowS` seconds, ms. */
  maxLagMs(now: number, windowS: number): number;
  /** Stops the libuv timer. */
  close(): void;
}

/** Where readings come from; tests substitute a fake. */
export interface LagSource {
  /** p99 lateness since the last read, ms, or undefined when nothing was recorded; resets. */
  read(): number | undefined;
  close(): void;
}

/** The real source: perf_hooks with the given resolution. */
export function perfHooksLagSource(resolutionMs = 10): LagSource {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  return {
    read() {
      if (h.count === 0) return undefined;
      const p99 = h.percentile(99) / 1e6;
      h.reset();
      return Math.max(0, p99 - resolutionMs);
    },
    close: () => h.disable(),
  };
}

/** Creates the lag tracker over `source` (default perf_hooks, 10 ms resolution). */
export function createEventLoopLag(source: LagSource = perfHooksLagSource()): EventLoopLag {
  const window = new GaugeWindow(60);
  let last = Number.NEGATIVE_INFINITY;
  return {
    sample(now) {
      if (now - last < 1000) return;
      last = now;
      const v = source.read();
      if (v !== undefined) window.record(now, v);
    },
    lagMs: (now, windowS) => window.mean(now, windowS),
    maxLagMs: (now, windowS) => window.max(now, windowS),
    close: () => source.close(),
  };
}
