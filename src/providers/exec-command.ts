/**
 * Runs one user command for the exec provider: argv (no shell), a hard timeout that kills the
 * command's whole process group, bounded output capture, and errors that name the command and
 * quote the tail of its stderr.
 */
import { spawn } from 'node:child_process';
import { LuascaleError } from '../core/errors.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** For error messages. */
  service: string;
  timeoutMs: number;
  cwd?: string;
  env?: Record<string, string>;
}

/** What a command printed. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Output beyond this is dropped (a runaway command must not exhaust memory). */
const MAX_OUTPUT = 4 * 1024 * 1024;
/** How much of stderr an error message quotes. */
const STDERR_TAIL = 600;

/** Shell-like rendering of argv for messages: `scale.sh 3`. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The last `max` characters of `text`, trimmed, marked when cut. */
export function tail(text: string, max = STDERR_TAIL): string {
  const t = text.trim();
  return t.length <= max ? t : `…${t.slice(-max)}`;
}

/**
 * Runs argv; resolves its output when it exits 0. Rejects with LS_ERR_PROVIDER_COMMAND (spawn
 * failure, non-zero exit, signal) or LS_ERR_PROVIDER_TIMEOUT (killed after `timeoutMs`). The command
 * leads its own process group so the timeout also kills whatever it started in the foreground.
 */
export function runCommand(argv: readonly string[], options: RunCommandOptions): Promise<CommandOutput> {
  const command = formatCommand(argv);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      // Grandchildren that left the group may still hold the pipes: do not wait for 'close'.
      settle(() =>
        reject(
          new LuascaleError('LS_ERR_PROVIDER_TIMEOUT', {
            service: options.service,
            command,
            ms: options.timeoutMs,
          }),
        ),
      );
    }, options.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-64 * 1024);
    });
    child.on('error', (err) => {
      settle(() =>
        reject(
          new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
            service: options.service,
            reason: `\`${command}\` could not start: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
          }),
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (timedOut) return;
      if (code === 0) return settle(() => resolve({ stdout, stderr }));
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const said = tail(stderr);
      settle(() =>
        reject(
          new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
            service: options.service,
            reason: `\`${command}\` ${how}${said ? `: ${said}` : ' (no stderr)'}`,
          }),
        ),
      );
    });
  });
}

/** One target printed by a list command. */
export interface ExecTarget {
  id: string;
  url: string;
  ready: boolean;
}

/** Parses a list command's stdout: a JSON array of `{id, url, ready?}`; throws LS_ERR_PROVIDER_OUTPUT. */
export function parseTargets(stdout: string, where: { service: string; command: string }): ExecTarget[] {
  const bad = (reason: string) => new LuascaleError('LS_ERR_PROVIDER_OUTPUT', { ...where, reason });
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch (err) {
    const shown = stdout.trim().slice(0, 80);
    throw bad(
      `not JSON (${(err as Error).message}); expected [{"id", "url", "ready"?}], got: ${shown === '' ? '(nothing)' : shown}`,
    );
  }
  if (!Array.isArray(data))
    throw bad(`expected a JSON array of {id, url, ready?}, got ${data === null ? 'null' : typeof data}`);
  const seen = new Set<string>();
  return data.map((item: unknown, n) => {
    const t = item as { id?: unknown; url?: unknown; ready?: unknown } | null;
    if (typeof t !== 'object' || t === null)
      throw bad(`item ${n}: expected an object, got ${JSON.stringify(item)}`);
    if (typeof t.id !== 'string' || t.id === '') throw bad(`item ${n}: "id" must be a non-empty string`);
    if (seen.has(t.id)) throw bad(`item ${n}: duplicate id "${t.id}"`);
    seen.add(t.id);
    let url: URL | undefined;
    try {
      url = typeof t.url === 'string' ? new URL(t.url) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw bad(`item ${n} ("${t.id}"): "url" must be an http(s) URL, got ${JSON.stringify(t.url)}`);
    if (t.ready !== undefined && typeof t.ready !== 'boolean')
      throw bad(`item ${n} ("${t.id}"): "ready" must be a boolean`);
    return { id: t.id, url: url.origin, ready: t.ready ?? true };
  });
}
