/**
 * Per-service admission: rate limit → concurrency limit → bounded, deadline-aware queue.
 *
 *   admit ──rate limit over──▶ 429 + Retry-After + RateLimit-* (draft-ietf-httpapi-ratelimit-headers)
 *     │ inflight < limit and nobody queued ──▶ permit (FIFO fairness: never overtake a waiter)
 *     │ queue full ─────────────────────────▶ 503 queue_full + Retry-After
 *     │ expected wait misses the deadline ──▶ 503 at once (shed early): at_capacity at max
 *     │                                        replicas (no capacity is coming), else queue_timeout
 *     ▼ wait in FIFO ── capacity frees / instance ready ──▶ permit (queuedMs = time waited)
 *                    └─ deadline passes ──────────────────▶ 503 queue_timeout
 *
 * limit = per_instance × ready instances, lowered to Envoy's gradient limit when `adaptive`.
 * With no ready instance (scale from zero) the limit is 0 and requests wait up to the queue
 * timeout for one, as Knative's activator does, instead of failing.
 * The math (limiters, gradient, queue) is pure; this shell owns the promises and the one timer,
 * which comes from an injectable Scheduler.
 */
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import type { ErrorCode } from '../../core/errors.js';
import { Ewma } from '../../metrics/ewma.js';
import { AdmissionQueue, type Waiter } from './admission-queue.js';
import { GradientController, type GradientOptions, type GradientStats } from './gradient-controller.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import type { RateLimiter, RateLimitVerdict } from './rate-limiter.js';
import { timerScheduler, type Scheduler } from './scheduler.js';
import { SlidingWindowLimiter } from './sliding-window-limiter.js';
import { TokenBucket } from './token-bucket.js';

/** A service's (or route's) traffic options; every time in ms. */
export interface TrafficOptions {
  rate_limit?: {
    /** Sustained requests per second per key. */
    rps: number;
    /** Burst size (default rps). */
    burst?: number;
    /** What a bucket is kept per; the caller derives the key string from it. */
    key?: 'ip' | 'route' | 'global' | 'api_key' | `header:${string}` | string;
    algorithm?: 'token-bucket' | 'sliding-window';
  };
  concurrency?: {
    /** Requests in flight per ready instance (default unlimited). */
    per_instance?: number;
    /** Envoy gradient controller on top: `true` for Envoy's defaults, or its parameters. */
    adaptive?: boolean | GradientOptions;
  };
  queue?: {
    /** Waiters held at once (default 1000; 0 = never queue). */
    max?: number;
    /** Longest wait, ms (default 30 000). */
    timeoutMs?: number;
    /** Same as timeoutMs, in config form (`30s`, or a number of seconds); timeoutMs wins. */
    timeout?: string | number;
    /** Shed at once when the expected wait misses the deadline (default true). */
    shedEarly?: boolean;
  };
  /**
   * The service is at its max replica count: a request whose expected wait misses its deadline is
   * shed as `at_capacity` (no capacity is coming) rather than `queue_timeout`. It still queues when
   * the wait fits (requests finishing, instances still starting).
   */
  atMaxReplicas?: boolean;
  [other: string]: unknown;
}

/** Held while a request is in flight; release it exactly once (later calls are ignored). */
export interface Permit {
  release(outcome: { ok: boolean; rttMs: number }): void;
}

/** Why admission said no (shed_by_reason in the signals). */
export type ShedReason = 'rate_limit' | 'queue_full' | 'queue_timeout' | 'at_capacity';

/** Admission verdict: a value, not an exception. */
export type AdmitResult =
  | { ok: true; permit: Permit; queuedMs: number; headers?: Record<string, string> }
  | {
      ok: false;
      status: 429 | 503;
      code: ErrorCode;
      retryAfterS: number;
      headers: Record<string, string>;
      reason: ShedReason;
      /** Figures for the error message (`waitMs`, `leftMs` of an early shed). */
      params?: Record<string, unknown>;
    };

/** One request asking to be let in. */
export interface AdmitRequest {
  /** Rate-limit key (client IP, route, header value, API key or '*'). */
  key: string;
  /** Route template, for messages. */
  route: string;
  /** Arrival time on the admission's clock (ms). */
  now: number;
  /** Absolute time on the same clock after which the request is useless (e.g. client timeout). */
  deadlineMs?: number;
  /** Aborted when the client goes away: a queued waiter leaves the queue at once (503 answer). */
  signal?: AbortSignal;
}

/** Admission state for metrics and the admin API. */
export interface AdmissionStats {
  queue: number;
  inflight: number;
  /** Effective concurrency limit (Infinity when unlimited). */
  limit: number;
  /** The gradient controller's limit, when adaptive. */
  adaptiveLimit?: number;
  adaptive?: GradientStats;
  ready: number;
  /** limit − inflight, at least 0: how far from shedding or queueing the service is. */
  headroom: number;
}

/** Per-service admission control. */
export interface Admission {
  /**
   * The verdict at once when it needs no wait (a local limiter, a free slot), else a promise of it
   * (queued, or a remote limiter): a promise and a microtask per request cost ~2 % of the proxy's CPU.
   */
  admit(req: AdmitRequest): AdmitResult | Promise<AdmitResult>;
  /** Ready instances changed: the static limit follows, and waiters may be let in. */
  setReadyInstances(n: number): void;
  /** Whether the service is at max replicas (an unmeetable wait is then shed as at_capacity). */
  setAtMaxReplicas(atMax: boolean): void;
  /**
   * The replicas the controller asked for (ready + starting) and, when known, how long an instance
   * takes to become ready: a queued request's expected wait counts the starting ones from then on.
   */
  setDesiredReplicas(n: number, startupMs?: number): void;
  stats(): AdmissionStats;
  /** Expires waiters past their deadline and lets waiters in; the timer calls it too. */
  tick(now?: number): void;
  /** Turns every waiter away (503) and every later request too. */
  close(): void;
}

/** Collaborators; all optional. */
export interface AdmissionDeps {
  /** Timer source for queue deadlines (default real timers on `clock`). */
  scheduler?: Scheduler;
  /** Replaces the local rate limiter (the cluster-mode Redis limiter plugs in here). */
  limiter?: RateLimiter;
  /** Random source for the gradient controller's jitter. */
  random?: () => number;
  /** Queue depth changed; `waitMs` is set when a waiter left the queue (admitted or shed). */
  onQueue?(depth: number, waitMs?: number): void;
  /**
   * While true, requests wait in the queue even with slots free: every instance is saturated (the
   * llm balancer's gate, src/llm/routing). Call `tick()` when it may have turned false.
   */
  hold?(): boolean;
}

const DEFAULT_QUEUE_MAX = 1000;
const DEFAULT_QUEUE_TIMEOUT_MS = 30_000;
const MAX_RETRY_AFTER_S = 60;

/**
 * A granted slot. One small object per admitted request, with the admission's shared release
 * function, instead of a closure, its context and an object (the hot path allocates less).
 */
class GrantedPermit implements Permit {
  #released = false;
  readonly #onRelease: (outcome: { ok: boolean; rttMs: number }) => void;

  constructor(onRelease: (outcome: { ok: boolean; rttMs: number }) => void) {
    this.#onRelease = onRelease;
  }

  /** Gives the slot back with the request's outcome; later calls are ignored. */
  release(outcome: { ok: boolean; rttMs: number }): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease(outcome);
  }
}

/** Builds the configured local rate limiter, if any. */
export function createRateLimiter(rl: NonNullable<TrafficOptions['rate_limit']>): RateLimiter {
  const opts = { rps: rl.rps, burst: rl.burst };
  return rl.algorithm === 'sliding-window' ? new SlidingWindowLimiter(opts) : new TokenBucket(opts);
}

/** Creates the admission controller of one service. */
export function createAdmission(options: TrafficOptions, clock: Clock, deps: AdmissionDeps = {}): Admission {
  const limiter = deps.limiter ?? (options.rate_limit ? createRateLimiter(options.rate_limit) : undefined);
  const perInstance = options.concurrency?.per_instance ?? Number.POSITIVE_INFINITY;
  if (!(perInstance >= 1)) throw new RangeError(`concurrency.per_instance must be >= 1, got ${perInstance}`);
  const adaptive = options.concurrency?.adaptive;
  const ctl =
    adaptive === undefined || adaptive === false
      ? undefined
      : new GradientController({ random: deps.random, ...(adaptive === true ? {} : adaptive) });
  const queue = new AdmissionQueue<(r: AdmitResult) => void>(options.queue?.max ?? DEFAULT_QUEUE_MAX);
  const timeoutMs =
    options.queue?.timeoutMs ??
    (options.queue?.timeout !== undefined ? parseDuration(options.queue.timeout) : DEFAULT_QUEUE_TIMEOUT_MS);
  if (!(timeoutMs >= 0)) throw new RangeError(`queue.timeoutMs must be >= 0, got ${timeoutMs}`);
  const shedEarly = options.queue?.shedEarly ?? true;
  const scheduler = deps.scheduler ?? timerScheduler(clock);
  const onQueue = deps.onQueue;
  const hold = deps.hold;
  // mean time a request holds a slot: with `limit` slots, the queue drains one waiter every rtt/limit
  const rtt = new Ewma(10_000);

  let ready = 0;
  let inflight = 0;
  let atMax = options.atMaxReplicas === true;
  // Replicas the controller asked for (ready + starting) and when the starting ones should be ready.
  let desired = 0;
  let comingAt: number | undefined;
  let closed = false;
  let armedAt = Number.POSITIVE_INFINITY;
  let armed: unknown;
  let lastPrune = clock.now();

  function staticLimit(): number {
    return ready === 0 ? 0 : perInstance * ready;
  }

  function limitAt(now: number): number {
    const s = staticLimit();
    if (ctl === undefined || s === 0) return s;
    return Math.min(s, ctl.limit(now));
  }

  function expectedWaitMs(position: number, limit: number): number | undefined {
    if (limit === 0 || limit === Number.POSITIVE_INFINITY || !rtt.seeded) return undefined;
    return ((position + 1) * rtt.value) / limit;
  }

  /**
   * The wait of the waiter at `position` when instances are starting: slots free up as requests
   * finish (`limit / rtt` per ms) until the starting instances are expected ready, and then at the
   * larger limit. Undefined (do not shed early) when capacity is coming at an unknown time.
   */
  function expectedWaitWithStartingMs(position: number, limit: number, now: number): number | undefined {
    const finishing = expectedWaitMs(position, limit);
    if (finishing === undefined || desired <= ready || ctl !== undefined) return finishing;
    if (comingAt === undefined) return undefined;
    const t = Math.max(0, comingAt - now);
    const servedBy = (t * limit) / rtt.value;
    if (position + 1 <= servedBy) return finishing;
    const later = perInstance * desired;
    return Math.min(finishing, t + ((position + 1 - servedBy) * rtt.value) / later);
  }

  function retryAfterS(now: number): number {
    const est = expectedWaitMs(queue.size, limitAt(now));
    if (est === undefined) return 1;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(est / 1000)));
  }

  function shed(
    reason: ShedReason,
    code: ErrorCode,
    retryAfter: number,
    headers?: Record<string, string>,
  ): AdmitResult {
    const h = headers ?? {};
    h['retry-after'] = String(retryAfter);
    return {
      ok: false,
      status: reason === 'rate_limit' ? 429 : 503,
      code,
      retryAfterS: retryAfter,
      headers: h,
      reason,
    };
  }

  function grant(now: number, enqueuedAt: number, headers?: Record<string, string>): AdmitResult {
    inflight++;
    const permit = new GrantedPermit(onRelease);
    return headers === undefined
      ? { ok: true, permit, queuedMs: now - enqueuedAt }
      : { ok: true, permit, queuedMs: now - enqueuedAt, headers };
  }

  /** A permit's slot comes back (once per permit: GrantedPermit guards it). */
  function onRelease(outcome: { ok: boolean; rttMs: number }): void {
    inflight--;
    const t = clock.now();
    // only successes describe the upstream's service time; fast failures would inflate the limit
    if (outcome.ok && outcome.rttMs >= 0) {
      rtt.observe(t, outcome.rttMs);
      ctl?.sample(t, outcome.rttMs);
    }
    if (queue.size > 0) dispatch(t);
  }

  function dispatch(now: number): void {
    const limit = limitAt(now);
    while (queue.size > 0 && inflight < limit && (hold === undefined || !hold())) {
      const w = queue.shift()!;
      if (w.deadline <= now) {
        w.value(shed('queue_timeout', 'LS_ERR_GATEWAY_QUEUE_TIMEOUT', retryAfterS(now)));
      } else {
        w.value(grant(now, w.enqueuedAt));
      }
      onQueue?.(queue.size, now - w.enqueuedAt);
    }
    rearm();
  }

  function rearm(): void {
    const next = queue.nextDeadline();
    if (next === armedAt) return;
    if (armed !== undefined) scheduler.cancel(armed);
    armed = undefined;
    armedAt = next;
    if (next !== Number.POSITIVE_INFINITY) armed = scheduler.schedule(next, onTimer);
  }

  function onTimer(): void {
    armed = undefined;
    armedAt = Number.POSITIVE_INFINITY;
    tick(clock.now());
  }

  function tick(now = clock.now()): void {
    const expired: Waiter<(r: AdmitResult) => void>[] = queue.expire(now);
    for (const w of expired) {
      w.value(shed('queue_timeout', 'LS_ERR_GATEWAY_QUEUE_TIMEOUT', retryAfterS(now)));
      onQueue?.(queue.size, now - w.enqueuedAt);
    }
    dispatch(now);
    if (limiter?.prune && now - lastPrune > 10_000) {
      lastPrune = now;
      limiter.prune(now);
    }
  }

  function afterRateLimit(
    req: AdmitRequest,
    verdict: RateLimitVerdict | undefined,
  ): AdmitResult | Promise<AdmitResult> {
    const now = req.now;
    if (verdict !== undefined && !verdict.ok) {
      return shed(
        'rate_limit',
        'LS_ERR_GATEWAY_RATE_LIMITED',
        verdict.retryAfterS,
        rateLimitHeaders(verdict),
      );
    }
    const headers = verdict === undefined ? undefined : rateLimitHeaders(verdict);
    if (closed) return shed('queue_timeout', 'LS_ERR_GATEWAY_SHUTTING_DOWN', 1, headers);
    const limit = limitAt(now);
    // FIFO: a newcomer never overtakes a waiter, even when a slot is free this instant
    if (queue.size === 0 && inflight < limit && (hold === undefined || !hold()))
      return grant(now, now, headers);
    // At max replicas a request still queues while its expected wait fits the deadline: slots free
    // up as requests finish, and instances may still be starting (ready < replicas). Only a wait
    // that cannot fit is shed, and the error says which: at_capacity (no more capacity is coming)
    // or deadline_unmet (more may come, but not in time).
    if (queue.full) return shed('queue_full', 'LS_ERR_GATEWAY_QUEUE_FULL', retryAfterS(now), headers);
    const deadline = Math.min(now + timeoutMs, req.deadlineMs ?? Number.POSITIVE_INFINITY);
    if (deadline <= now)
      return shed('queue_timeout', 'LS_ERR_GATEWAY_QUEUE_TIMEOUT', retryAfterS(now), headers);
    if (shedEarly) {
      const est = expectedWaitWithStartingMs(queue.size, limit, now);
      if (est !== undefined && now + est > deadline) {
        const r = atMax
          ? shed('at_capacity', 'LS_ERR_GATEWAY_AT_CAPACITY', retryAfterS(now), headers)
          : shed('queue_timeout', 'LS_ERR_GATEWAY_DEADLINE_UNMET', retryAfterS(now), headers);
        if (!r.ok) r.params = { waitMs: Math.round(est), leftMs: deadline - now };
        return r;
      }
    }
    return new Promise<AdmitResult>((resolve) => {
      const deliver =
        headers === undefined
          ? resolve
          : (r: AdmitResult) => {
              if (r.ok) r.headers = headers;
              else for (const k in headers) if (!(k in r.headers)) r.headers[k] = headers[k]!;
              resolve(r);
            };
      const w = queue.push(deliver, now, deadline)!;
      onQueue?.(queue.size);
      if (deadline < armedAt) rearm();
      const signal = req.signal;
      if (signal !== undefined) {
        const leave = () => {
          if (!queue.remove(w)) return;
          const t = clock.now();
          deliver(shed('queue_timeout', 'LS_ERR_GATEWAY_QUEUE_TIMEOUT', 1));
          onQueue?.(queue.size, t - w.enqueuedAt);
        };
        if (signal.aborted) leave();
        else signal.addEventListener('abort', leave, { once: true });
      }
    });
  }

  function admit(req: AdmitRequest): AdmitResult | Promise<AdmitResult> {
    if (limiter === undefined) return afterRateLimit(req, undefined);
    const v = limiter.take(req.key, req.now);
    if (v instanceof Promise) return v.then((verdict) => afterRateLimit(req, verdict));
    return afterRateLimit(req, v);
  }

  return {
    admit,
    setReadyInstances(n) {
      if (!(Number.isInteger(n) && n >= 0))
        throw new RangeError(`ready instances must be an integer >= 0, got ${n}`);
      ready = n;
      if (queue.size > 0) dispatch(clock.now());
    },
    setAtMaxReplicas(b) {
      atMax = b;
    },
    setDesiredReplicas(n, startupMs) {
      if (n > ready && desired <= ready) comingAt = undefined; // a new wave of starting instances
      desired = n;
      if (n > ready && comingAt === undefined && startupMs !== undefined) comingAt = clock.now() + startupMs;
    },
    stats() {
      const now = clock.now();
      const limit = limitAt(now);
      const s: AdmissionStats = {
        queue: queue.size,
        inflight,
        limit,
        ready,
        headroom: Math.max(0, limit - inflight),
      };
      if (ctl !== undefined) {
        s.adaptive = ctl.stats();
        s.adaptiveLimit = s.adaptive.limit;
      }
      return s;
    },
    tick,
    close() {
      closed = true;
      const now = clock.now();
      for (const w of queue.drain()) {
        w.value(shed('queue_timeout', 'LS_ERR_GATEWAY_SHUTTING_DOWN', 1));
        onQueue?.(queue.size, now - w.enqueuedAt);
      }
      if (armed !== undefined) scheduler.cancel(armed);
      armed = undefined;
      armedAt = Number.POSITIVE_INFINITY;
    },
  };
}
