/**
 * The contracts the proxy uses from admission (rate limits, concurrency, queue), signals and the
 * access log, as the gateway calls them. The implementations live in admission/, signals/ and
 * access-log.ts; the gateway takes factories through its options so tests can substitute them.
 */
import type { ErrorCode } from '../core/errors.js';

/** Held while a request is in flight; released with its outcome (feeds adaptive concurrency). */
export interface Permit {
  release(outcome: { ok: boolean; rttMs: number }): void;
}

/** Admission verdict: a value, not an exception. */
export type AdmitResult =
  | { ok: true; permit: Permit; queuedMs: number; headers?: Record<string, string> }
  | {
      ok: false;
      status: 429 | 503;
      code: ErrorCode;
      retryAfterS: number;
      headers: Record<string, string>;
      reason: 'rate_limit' | 'queue_full' | 'queue_timeout' | 'at_capacity';
      /** Figures for the error message (e.g. `waitMs`, `leftMs`). */
      params?: Record<string, unknown>;
    };

/** Per-service admission control. */
export interface AdmissionLike {
  /** The verdict at once when it needs no wait, else a promise of it (queued, or a remote limiter). */
  admit(req: {
    key: string;
    route: string;
    now: number;
    deadlineMs?: number;
  }): AdmitResult | Promise<AdmitResult>;
  setReadyInstances(n: number): void;
  stats(): { queue: number; inflight: number; limit: number };
  /** Turns waiters away; called when the gateway closes. */
  close?(): void;
}

/** What the gateway reports to the signals (sliding windows read by the controller). */
export interface SignalsLike {
  /**
   * A request matched a route (offered); it then ends in exactly one onShed or onEnd. `now`, when
   * given, is the caller's reading of the gateway's clock (saves a clock read per event).
   */
  onStart(route: string, service: string, instance?: string, now?: number): void;
  /** The request was sent to `instance` (first attempt only: retries keep the first attribution). */
  onDispatch?(service: string, instance: string, now?: number): void;
  onEnd(e: {
    /** When it ended on the gateway's clock, if the caller has read it. */
    at?: number;
    route: string;
    service: string;
    operationId?: string;
    instance: string;
    status: number;
    latencyMs: number;
    bytesIn: number;
    bytesOut: number;
  }): void;
  onShed(route: string, service: string, reason: string): void;
  /** An instance left the pool: drop its series (bounded cardinality). */
  forgetInstance?(service: string, instance: string): void;
}

/** One access-log line. */
export interface AccessLogEntry {
  requestId: string;
  /** The client's address (behind a trusted proxy, the one it forwarded). */
  clientIp: string;
  method: string;
  path: string;
  route: string;
  service: string;
  upstream: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  queuedMs: number;
  upstreamMs: number;
  attempts: number;
}

/** Access log sink. */
export interface AccessLogLike {
  log(entry: AccessLogEntry): void;
}
