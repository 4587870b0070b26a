/**
 * The access log: one JSON line per request (pino), with request id, client address, route
 * template, upstream, status, bytes and timings. `off` costs nothing; `sampled` writes a
 * `sampleRate` fraction of requests but every error (5xx, or no status at all), since those are
 * the lines people look for; `full` writes every request. pino writes asynchronously to the
 * destination (sonic-boom).
 */
import type { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { AccessLogEntry } from './seams.js';

type SonicBoom = ReturnType<typeof pino.destination>;

/** One request, as the proxy reports it at the end (the seam's type, defined once). */
export type { AccessLogEntry } from './seams.js';

/** Access-log options. */
export interface AccessLogOptions {
  mode: 'off' | 'sampled' | 'full';
  /** Fraction of non-error requests written in `sampled` mode, 0..1 (default 0.01). */
  sampleRate?: number;
  /** A file path, a file descriptor or a stream (default stdout). */
  destination?: string | number | Writable;
  /** Random source in [0, 1) for sampling (default Math.random). */
  random?: () => number;
}

/** The access-log sink. */
export interface AccessLog {
  log(entry: AccessLogEntry): void;
  /** Writes out what is buffered. */
  flush(): Promise<void>;
  /** Writes out and closes the destination if the log opened it (file path or fd). */
  close(): Promise<void>;
}

/** Creates an access log. */
export function createAccessLog(options: AccessLogOptions): AccessLog {
  if (options.mode === 'off') return { log() {}, flush: async () => {}, close: async () => {} };
  const rate = options.sampleRate ?? 0.01;
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`access log sampleRate must be in [0, 1], got ${rate}`);
  const random = options.random ?? Math.random;
  const full = options.mode === 'full';
  const dest = options.destination ?? 1;
  const sonic: SonicBoom | undefined =
    typeof dest === 'string'
      ? pino.destination({ dest, sync: false, mkdir: true })
      : typeof dest === 'number'
        ? pino.destination({ dest, sync: false })
        : undefined;
  const own: OwnDestination | undefined =
    sonic === undefined
      ? undefined
      : { sonic, ready: false, closed: false, ownsFile: typeof dest === 'string' };
  if (own !== undefined) own.sonic.once('ready', () => (own.ready = true));
  const stream = sonic ?? (dest as Writable);
  const logger: Logger = pino(
    {
      base: undefined,
      messageKey: 'event',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );

  return {
    log(e) {
      if (own?.closed) return;
      const error = e.status >= 500 || e.status === 0;
      if (!full && !error && random() >= rate) return;
      logger.info({
        reqId: e.requestId,
        clientIp: e.clientIp,
        method: e.method,
        path: e.path,
        route: e.route,
        service: e.service,
        upstream: e.upstream,
        status: e.status,
        bytesIn: e.bytesIn,
        bytesOut: e.bytesOut,
        attempts: e.attempts,
        timings: {
          totalMs: round(e.durationMs),
          queueMs: round(e.queuedMs),
          upstreamMs: round(e.upstreamMs),
        },
      });
    },
    flush: () => flush(own),
    close: () => close(own),
  };
}

/** A destination the log opened itself, with the state SonicBoom's types do not expose. */
interface OwnDestination {
  sonic: SonicBoom;
  ready: boolean;
  closed: boolean;
  /** Only a file the log opened by path is closed; a caller's fd (stdout) stays open. */
  ownsFile: boolean;
}

/** Runs `fn` once the file is open. */
function whenReady(d: OwnDestination, fn: () => void): void {
  if (d.ready) fn();
  else d.sonic.once('ready', fn);
}

/** Asks SonicBoom to write out its buffer. */
function flush(d: OwnDestination | undefined): Promise<void> {
  if (d === undefined || d.closed) return Promise.resolve();
  return new Promise<void>((resolve) => whenReady(d, () => d.sonic.flush(() => resolve())));
}

/** Writes out and closes a destination we opened (a caller's stream is left open). */
function close(d: OwnDestination | undefined): Promise<void> {
  if (d === undefined || d.closed) return Promise.resolve();
  if (!d.ownsFile) return flush(d);
  d.closed = true;
  return new Promise<void>((resolve) => {
    d.sonic.once('close', () => resolve());
    whenReady(d, () => d.sonic.end());
  });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
