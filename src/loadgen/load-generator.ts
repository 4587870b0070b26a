/**
 * The built-in load generator: an open-loop arrival process. Requests are sent on schedule whatever
 * the responses do (a closed loop would slow down with the server and hide its latency: the
 * "coordinated omission" of Tene's wrk2 notes). The k-th request is due when the expected arrival
 * count Λ(t) of the rate pattern reaches k − ½ (uniform, deterministic spacing; no Poisson jitter).
 *
 * Bounded three ways: `durationMs`, `maxRequests`, and `maxInFlight`. An arrival due while
 * `maxInFlight` requests are outstanding is not queued (that would turn it into a closed loop): it
 * is counted as `dropped`. Latency is the time from sending to the end of the body, in an HdrHistogram.
 *
 * Outcome classes: `ok` = 2xx/3xx, `status429`, `status503`, `errors` = any other status plus
 * network errors and timeouts. sent = ok + status429 + status503 + errors once all responses are in.
 */
import { Pool } from 'undici';
import {
  histogram,
  percentileMs as ms,
  recordMs,
  summarise,
  type LatencySummary,
} from './latency-histogram.js';
import { systemClock, type Clock } from '../core/clock.js';
import { expectedArrivals, rateAt, type RatePattern } from './rate-pattern.js';

export type { LatencySummary };

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Full URL, e.g. `http://127.0.0.1:8080/work?ms=20`. */
  url: string;
  pattern: RatePattern;
  durationMs: number;
  /** Stop sending after this many requests. Default 1,000,000. */
  maxRequests?: number;
  /** Outstanding requests at most; further due arrivals are dropped. Default 1024. */
  maxInFlight?: number;
  /** Sockets in the undici Pool. Default 128. */
  connections?: number;
  method?: string;
  headers?: Record<string, string>;
  /** Per-request limit, headers to end of body. Default 10 s. */
  timeoutMs?: number;
  /** Stops sending early (Ctrl-C); outstanding requests still finish. */
  signal?: AbortSignal;
  clock?: Clock;
  /** Called every `progressMs` with a snapshot (for a progress bar). */
  onProgress?: (p: LoadProgress) => void;
  progressMs?: number;
  /** Called once per completed second of the run with its timeline entry. */
  onSecond?: (s: TimelineSecond) => void;
}

/** A live snapshot. */
export interface LoadProgress {
  elapsedMs: number;
  durationMs: number;
  sent: number;
  ok: number;
  failed: number;
  inFlight: number;
  targetRps: number;
}

/** One second of the run (by send time for `sent`/`dropped`, by completion time for the rest). */
export interface TimelineSecond {
  /** Seconds from the start. */
  t: number;
  targetRps: number;
  sent: number;
  ok: number;
  status429: number;
  status503: number;
  errors: number;
  dropped: number;
  /** Latency of the responses completed in this second, ms (0 when none). */
  p50: number;
  p95: number;
  p99: number;
}

/** The result of one run. */
export interface LoadSummary {
  url: string;
  pattern: string;
  /** From the first send to the last response, ms. */
  elapsedMs: number;
  sent: number;
  ok: number;
  status429: number;
  status503: number;
  errors: number;
  dropped: number;
  /** Count per HTTP status. */
  statuses: Record<string, number>;
  /** Count per error kind (undici code, errno, or `HTTP 500`). */
  errorKinds: Record<string, number>;
  latencyMs: LatencySummary;
  /** Requests sent per second of sending time. */
  offeredRps: number;
  /** Responses (any class) per second of elapsed time. */
  achievedRps: number;
  maxInFlightSeen: number;
  /** Why sending stopped. */
  stoppedBy: 'duration' | 'max-requests' | 'signal';
  timeline: TimelineSecond[];
}

function newSecond(t: number, targetRps: number): TimelineSecond {
  return {
    t,
    targetRps,
    sent: 0,
    ok: 0,
    status429: 0,
    status503: 0,
    errors: 0,
    dropped: 0,
    p50: 0,
    p95: 0,
    p99: 0,
  };
}

/** Runs one load test and resolves with its summary once every sent request has finished. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const clock = options.clock ?? systemClock;
  const url = new URL(options.url);
  const path = `${url.pathname}${url.search}`;
  const maxRequests = options.maxRequests ?? 1_000_000;
  const maxInFlight = options.maxInFlight ?? 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const method = (options.method ?? 'GET').toUpperCase() as 'GET';
  const pool = new Pool(url.origin, {
    connections: options.connections ?? 128,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
  });
  const total = histogram();
  const perSecond = histogram();
  const timeline: TimelineSecond[] = [];
  const statuses: Record<string, number> = {};
  const errorKinds: Record<string, number> = {};
  const c = {
    sent: 0,
    ok: 0,
    status429: 0,
    status503: 0,
    errors: 0,
    dropped: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  const start = clock.now();
  const elapsed = () => clock.now() - start;
  let second = newSecond(0, rateAt(options.pattern, 0));
  let lastResponseAt = start;
  let stoppedBy: LoadSummary['stoppedBy'] = 'duration';
  let sendingEndedAt = start;
  let allDone: (() => void) | undefined;

  /** Closes timeline seconds up to (not including) the one `tMs` falls in. */
  function rollTo(tMs: number): void {
    const s = Math.floor(tMs / 1000);
    while (second.t < s) {
      second.p50 = ms(perSecond, 50);
      second.p95 = ms(perSecond, 95);
      second.p99 = ms(perSecond, 99);
      perSecond.reset();
      timeline.push(second);
      options.onSecond?.(second);
      second = newSecond(second.t + 1, rateAt(options.pattern, (second.t + 1) * 1000));
    }
  }

  function finish(
    outcome: 'ok' | 'status429' | 'status503' | 'errors',
    startedAt: number,
    kind?: string,
  ): void {
    const now = clock.now();
    rollTo(now - start);
    c[outcome]++;
    second[outcome]++;
    if (kind) errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    recordMs(total, now - startedAt);
    recordMs(perSecond, now - startedAt);
    lastResponseAt = now;
    c.inFlight--;
    if (c.inFlight === 0) allDone?.();
  }

  function send(): void {
    const startedAt = clock.now();
    c.sent++;
    second.sent++;
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
    pool
      .request({ path, method, headers: options.headers, signal: AbortSignal.timeout(timeoutMs) })
      .then(async (res) => {
        // Read the whole body: the latency of a response is until its last byte.
        for await (const _chunk of res.body) void _chunk;
        const code = res.statusCode;
        statuses[code] = (statuses[code] ?? 0) + 1;
        if (code === 429) finish('status429', startedAt);
        else if (code === 503) finish('status503', startedAt);
        else if (code < 400) finish('ok', startedAt);
        else finish('errors', startedAt, `HTTP ${code}`);
      })
      .catch((err: NodeJS.ErrnoException) => {
        const kind =
          err?.name === 'TimeoutError' || err?.name === 'AbortError'
            ? 'timeout'
            : (err?.code ?? err?.name ?? 'error');
        finish('errors', startedAt, kind);
      });
  }

  const progressTimer = options.onProgress
    ? setInterval(() => {
        options.onProgress!({
          elapsedMs: elapsed(),
          durationMs: options.durationMs,
          sent: c.sent,
          ok: c.ok,
          failed: c.status429 + c.status503 + c.errors,
          inFlight: c.inFlight,
          targetRps: rateAt(options.pattern, elapsed()),
        });
      }, options.progressMs ?? 250)
    : undefined;

  // The sender: wake up often enough for the current rate (1–10 ms), send everything now due.
  let due = 0; // arrivals scheduled so far, sent or dropped
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = Math.min(elapsed(), options.durationMs);
      rollTo(t);
      // The k-th request goes out when Λ(t) reaches k − ½ (mid-slot): 20 rps puts 20 requests in
      // each second at 25, 75, … ms, and a run of D seconds sends round(Λ(D)) requests.
      const target = Math.floor(expectedArrivals(options.pattern, t) + 0.5);
      while (due < target && c.sent < maxRequests) {
        due++;
        if (c.inFlight >= maxInFlight) {
          c.dropped++;
          second.dropped++;
        } else send();
      }
      if (options.signal?.aborted) stoppedBy = 'signal';
      else if (c.sent >= maxRequests) stoppedBy = 'max-requests';
      else if (elapsed() < options.durationMs) {
        const rps = rateAt(options.pattern, t);
        setTimeout(tick, rps > 0 ? Math.min(10, Math.max(1, 1000 / rps)) : 10);
        return;
      }
      sendingEndedAt = clock.now();
      resolve();
    };
    tick();
  });
  if (c.inFlight > 0) await new Promise<void>((resolve) => (allDone = resolve));
  clearInterval(progressTimer);
  await pool.close();
  const end = Math.max(lastResponseAt, sendingEndedAt);
  rollTo(end - start + 1000); // close the second the last response fell in
  const elapsedMs = end - start;
  const sendMs = sendingEndedAt - start;
  const completed = c.ok + c.status429 + c.status503 + c.errors;
  return {
    url: options.url,
    pattern: options.pattern.label,
    elapsedMs,
    sent: c.sent,
    ok: c.ok,
    status429: c.status429,
    status503: c.status503,
    errors: c.errors,
    dropped: c.dropped,
    statuses,
    errorKinds,
    latencyMs: summarise(total),
    offeredRps: sendMs > 0 ? (c.sent / sendMs) * 1000 : 0,
    achievedRps: elapsedMs > 0 ? (completed / elapsedMs) * 1000 : 0,
    maxInFlightSeen: c.maxInFlight,
    stoppedBy,
    timeline,
  };
}
