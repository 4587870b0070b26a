/** The options of the process provider, and their defaults. */
import { createHash } from 'node:crypto';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { LuascaleError } from '../core/errors.js';
import type { Instance, InstanceStore } from '../controller/provider.js';
import { DEFAULT_CRASH_BACKOFF, type CrashBackoffOptions } from './crash-backoff.js';
import type { ProbeResult } from './health-probe.js';

/** Options of {@link ProcessProvider}. */
export interface ProcessProviderOptions {
  service: string;
  /** argv of one instance, e.g. `['node', 'server.mjs']`; no shell is involved. */
  command: string[];
  cwd?: string;
  /** Added to luascale's own environment. */
  env?: Record<string, string>;
  /** Variable that receives the instance's port. Default `PORT`. */
  portEnv?: string;
  /** Address instances listen on and are probed at. Default `127.0.0.1`. */
  host?: string;
  /** Default `/healthz`. */
  healthPath?: string;
  readiness?: {
    /** Between probes while starting. Default 100 ms. */
    intervalMs?: number;
    /** Per probe. Default 1000 ms. */
    timeoutMs?: number;
    /** Fail the instance when not ready by then. Default 30 s. */
    startTimeoutMs?: number;
    /**
     * Asked after each passing health probe (given the instance's base URL): the instance is ready
     * only when it passes too, e.g. an AI service's 1-token completion (docs/llm.md). Default none.
     */
    warmUp?: (baseUrl: string) => Promise<ProbeResult>;
  };
  /** SIGTERM → SIGKILL grace. Default 10 s. */
  stopGraceMs?: number;
  /** Longest wait for `drainHook`; the stop goes on after it. Default 30 s. */
  drainTimeoutMs?: number;
  /** Default `<tmpdir>/luascale-logs`. Files are `<logDir>/<service>/<id>.log`. */
  logDir?: string;
  /** Rotate a log above this size. Default 10 MiB. */
  logMaxBytes?: number;
  /** Rotated copies kept. Default 3. */
  logFiles?: number;
  /** The gateway's drain: stop new requests to the instance and wait for in-flight ones. */
  drainHook?: (instance: Instance) => Promise<void>;
  instanceStore?: InstanceStore;
  clock?: Clock;
  /** Launch a replacement when an instance crashes. Default true. */
  replaceCrashed?: boolean;
  crashBackoff?: Partial<CrashBackoffOptions>;
  /** Memory percent is RSS over this. Default: total system memory. */
  memoryLimitBytes?: number;
  /** Period of the liveness check of adopted instances and of log rotation. Default 1000 ms. */
  housekeepingMs?: number;
  /** Where failures of the store, the drain hook and signals are reported. Default: stderr. */
  onError?: (err: unknown, context: string) => void;
}

/** The options with every default filled in (`cwd`, `drainHook` and `instanceStore` stay optional). */
export type ResolvedProcessOptions = Required<
  Omit<ProcessProviderOptions, 'cwd' | 'drainHook' | 'instanceStore' | 'readiness' | 'crashBackoff'>
> &
  Pick<ProcessProviderOptions, 'cwd' | 'drainHook' | 'instanceStore'>;

/**
 * A short hash of everything an instance is launched with (command, cwd, env, port variable, host,
 * health path); env keys are sorted so their order does not matter. Adoption compares it.
 */
export function launchSpecHash(o: ResolvedProcessOptions): string {
  const env = Object.fromEntries(Object.entries(o.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const spec = [o.command, o.cwd ?? null, env, o.portEnv, o.host, o.healthPath];
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/** The readiness probe's timing, resolved. */
export interface ReadinessTimes {
  intervalMs: number;
  timeoutMs: number;
  startTimeoutMs: number;
  warmUp?: (baseUrl: string) => Promise<ProbeResult>;
}

/** Checks `command` (LS_ERR_PROVIDER_LAUNCH) and fills in the defaults. */
export function resolveProcessProviderOptions(options: ProcessProviderOptions): {
  options: ResolvedProcessOptions;
  readiness: ReadinessTimes;
  backoff: CrashBackoffOptions;
} {
  if (
    !Array.isArray(options.command) ||
    options.command.length === 0 ||
    options.command.some((a) => typeof a !== 'string')
  ) {
    throw new LuascaleError('LS_ERR_PROVIDER_LAUNCH', {
      service: options.service,
      reason: 'command must be a non-empty array of strings',
    });
  }
  const resolved: ResolvedProcessOptions = {
    service: options.service,
    command: [...options.command],
    cwd: options.cwd,
    env: options.env ?? {},
    portEnv: options.portEnv ?? 'PORT',
    host: options.host ?? '127.0.0.1',
    healthPath: options.healthPath ?? '/healthz',
    stopGraceMs: options.stopGraceMs ?? 10_000,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    logDir: options.logDir ?? join(tmpdir(), 'luascale-logs'),
    logMaxBytes: options.logMaxBytes ?? 10 * 1024 * 1024,
    logFiles: options.logFiles ?? 3,
    drainHook: options.drainHook,
    instanceStore: options.instanceStore,
    clock: options.clock ?? systemClock,
    replaceCrashed: options.replaceCrashed ?? true,
    memoryLimitBytes: options.memoryLimitBytes ?? totalmem(),
    housekeepingMs: options.housekeepingMs ?? 1000,
    onError:
      options.onError ??
      ((err, context) =>
        process.stderr.write(
          `luascale: ${options.service}: ${context}: ${(err as Error)?.message ?? err}\n`,
        )),
  };
  const readiness: ReadinessTimes = {
    intervalMs: options.readiness?.intervalMs ?? 100,
    timeoutMs: options.readiness?.timeoutMs ?? 1000,
    startTimeoutMs: options.readiness?.startTimeoutMs ?? 30_000,
    warmUp: options.readiness?.warmUp,
  };
  const backoff: CrashBackoffOptions = { ...DEFAULT_CRASH_BACKOFF, ...options.crashBackoff };
  return { options: resolved, readiness, backoff };
}
