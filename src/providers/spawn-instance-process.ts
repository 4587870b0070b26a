/** Starting one instance's process: its own process group, stdout and stderr into its log file. */
import { spawn, type ChildProcess } from 'node:child_process';
import { LuascaleError } from '../core/errors.js';
import { closeQuietly, openLogFd } from './rotating-log.js';

/** Options of `spawnInstanceProcess`. */
export interface SpawnInstanceOptions {
  service: string;
  /** argv; no shell is involved. */
  command: readonly string[];
  cwd?: string;
  /** The whole environment of the child. */
  env: NodeJS.ProcessEnv;
  /** Opened for appending (and created with its directory); both stdout and stderr go there. */
  logFile: string;
  /** Errors of the running child; attached before anything else can emit one. */
  onChildError: (err: Error) => void;
}

/** A running child (it has a pid), or the error that kept it from starting (e.g. ENOENT). */
export type SpawnResult = { child: ChildProcess & { pid: number } } | { error: Error };

/**
 * Spawns the instance `detached`, so it leads its own process group. Throws LS_ERR_PROVIDER_LAUNCH
 * when the log cannot be opened or `spawn` itself throws; a child that fails to start (no pid)
 * resolves to its `error`.
 */
export async function spawnInstanceProcess(options: SpawnInstanceOptions): Promise<SpawnResult> {
  const { service, command, logFile } = options;
  let fd: number;
  try {
    fd = openLogFd(logFile);
  } catch (err) {
    throw new LuascaleError(
      'LS_ERR_PROVIDER_LAUNCH',
      { service, reason: `cannot open log ${logFile}: ${(err as Error).message}` },
      { cause: err },
    );
  }
  let child: ChildProcess;
  try {
    child = spawn(command[0]!, command.slice(1), {
      cwd: options.cwd,
      env: options.env,
      // Own process group (setsid): kill(-pgid) reaches its children, and it outlives a luascale crash.
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } catch (err) {
    closeQuietly(fd);
    throw new LuascaleError(
      'LS_ERR_PROVIDER_LAUNCH',
      { service, reason: (err as Error).message },
      { cause: err },
    );
  }
  // The child has its own copy of the fd; ours is not needed (and would leak one per instance).
  closeQuietly(fd);
  if (child.pid === undefined) {
    return { error: await new Promise<Error>((resolve) => child.once('error', resolve)) };
  }
  child.on('error', options.onChildError);
  return { child: child as ChildProcess & { pid: number } };
}
