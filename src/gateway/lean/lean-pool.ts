/**
 * The lean HTTP/1.1 client of one upstream instance: up to `connections` keep-alive connections
 * (lean-connection.ts), one request in flight on each, idle ones reused most-recent first (the
 * others time out after keep-alive). It is a dispatcher with undici's `dispatch(opts, handler)`
 * shape, so the forward stage drives it and undici's Pool alike; requests beyond the connection
 * count wait here in arrival order (the gateway keeps admission's per-instance limit at or below
 * it, so they rarely do).
 *
 * Timeouts are swept, not timed per request (a timer refreshed twice per request cost ~1.5 % of
 * the gateway's CPU): while the pool has connections, an unref'd interval of 1/16 of the shortest
 * timeout in use (keep-alive included; 5 ms to 1 s) ticks each of them (lean-connection.ts
 * `sweep`), as node:http's server checks its headers timeouts on an interval.
 *
 * Lifecycle: open → closing (close(): queued and running requests finish, then the sockets close)
 * or destroyed (destroy(): everything fails at once).
 */
import type { Dispatcher } from 'undici';
import { httpParserClass } from './http-parser.js';
import { LeanConnection, leanError, type LeanHandler, type LeanOwner } from './lean-connection.js';

/** Options of one instance's lean client. */
export interface LeanPoolOptions {
  host: string;
  port: number;
  /** Most connections at once (default 64). */
  connections?: number;
  /** Idle time before a connection closes, ms (default 4000). */
  keepAliveMs?: number;
  /** Connect timeout, ms (default 10 000). */
  connectTimeout?: number;
  /** Largest response head, bytes (0: node's --max-http-header-size, 16 KiB by default). */
  maxHeaderSize?: number;
}

/** Whether this node has the parser the lean client needs. */
export function leanAvailable(): boolean {
  return httpParserClass() !== null;
}

/** One instance's lean client (see the module comment). */
export class LeanPool implements LeanOwner {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly keepAliveMs: number;
  readonly maxHeaderSize: number;
  readonly max: number;
  readonly #idle: LeanConnection[] = [];
  readonly #all = new Set<LeanConnection>();
  #queue: { opts: Dispatcher.DispatchOptions; handler: LeanHandler }[] = [];
  #closing = false;
  #closed: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #tickMs = 0;

  constructor(options: LeanPoolOptions) {
    this.host = options.host;
    this.port = options.port;
    this.max = options.connections ?? 64;
    this.keepAliveMs = options.keepAliveMs ?? 4000;
    this.connectTimeout = options.connectTimeout ?? 10_000;
    this.maxHeaderSize = options.maxHeaderSize ?? 0;
  }

  /** Open connections (busy, idle or connecting). */
  get size(): number {
    return this.#all.size;
  }

  /** Sends one request; the handler gets undici's callbacks. Always true (undici's "no need to wait"). */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = handler as unknown as LeanHandler;
    if (this.#closing) {
      h.onError(leanError('the instance is closing', 'UND_ERR_CLOSED'));
      return true;
    }
    let conn = this.#idle.pop();
    while (conn !== undefined && (conn.state !== 'idle' || conn.socket.destroyed)) conn = this.#idle.pop();
    if (conn !== undefined) conn.run(opts, h);
    else if (this.#all.size < this.max) this.#open().run(opts, h);
    else this.#queue.push({ opts, handler: h });
    return true;
  }

  #open(): LeanConnection {
    const conn = new LeanConnection(this);
    this.#all.add(conn);
    if (this.#sweep === undefined) this.#startSweep(tickFor(this.keepAliveMs));
    return conn;
  }

  /** LeanOwner: a request ended on `conn`. */
  release(conn: LeanConnection, reusable: boolean): void {
    if (!reusable || conn.state === 'closed') return;
    const next = this.#queue.shift();
    if (next !== undefined) return conn.run(next.opts, next.handler);
    if (this.#closing) return conn.close();
    conn.idle();
    this.#idle.push(conn);
  }

  /** LeanOwner: a request waits with a timeout of `ms`; the sweep ticks at least every ms/16. */
  watch(ms: number): void {
    const tick = tickFor(ms);
    if (this.#sweep === undefined || tick < this.#tickMs) this.#startSweep(tick);
  }

  #startSweep(tick: number): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#tickMs = tick;
    this.#sweep = setInterval(() => this.#tick(), tick);
    this.#sweep.unref();
  }

  #tick(): void {
    let shortest = this.keepAliveMs;
    for (const c of this.#all) {
      const ms = c.sweep(this.#tickMs);
      if (ms > 0 && ms < shortest) shortest = ms;
    }
    if (this.#all.size === 0) return this.#stopSweep();
    // The short timeouts that sped the tick up are gone: slow it down again.
    const tick = tickFor(shortest);
    if (tick >= 2 * this.#tickMs) this.#startSweep(tick);
  }

  #stopSweep(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /** LeanOwner: `conn` closed for good. */
  closed(conn: LeanConnection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    // A queued request takes the freed slot on a new connection.
    const next = this.#queue.length > 0 && this.#all.size < this.max ? this.#queue.shift() : undefined;
    if (next !== undefined) this.#open().run(next.opts, next.handler);
    if (this.#all.size === 0) this.#stopSweep();
    if (this.#closing && this.#all.size === 0) this.#closed?.();
  }

  /** Lets queued and running requests finish, then closes every connection. */
  close(): Promise<void> {
    this.#closing = true;
    for (const c of this.#idle.splice(0)) c.close();
    if (this.#all.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#closed = resolve));
  }

  /** Fails queued and running requests and closes every connection now. */
  destroy(): Promise<void> {
    this.#closing = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const q of queued) q.handler.onError(leanError('the instance was removed', 'UND_ERR_DESTROYED'));
    for (const c of [...this.#all]) c.close();
    return Promise.resolve();
  }
}

/** The sweep's period for a timeout of `ms`: a sixteenth of it, 5 ms to 1 s. */
function tickFor(ms: number): number {
  return Math.min(1000, Math.max(5, Math.floor(ms / 16)));
}
