/**
 * Helpers for tests that run `luascale up` as a real process: free ports, the config of a service
 * whose instances carry a marker in their environment (to find them in /proc), and waiting on the
 * process's log lines and exit with deadlines rather than sleeps.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Live (non-zombie) processes whose environment carries `LS_TEST_MARK=mark`. */
export function markedPids(mark: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').includes(`LS_TEST_MARK=${mark}`)) continue;
      if (alive(Number(d))) out.push(Number(d));
    } catch {
      // gone while we looked
    }
  }
  return out.sort((a, b) => a - b);
}

/** True while `pid` runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A config with one process-provider service of `instances` demo backends marked with `mark`. */
export function upConfig(o: {
  dir: string;
  gateway: string;
  admin: string;
  mark: string;
  instances?: number;
}): string {
  const n = o.instances ?? 1;
  return `gateway: { listen: "${o.gateway}", access_log: "off", drain_timeout: 2s }
admin: { listen: "${o.admin}" }
store: { sqlite: "${o.dir}/ls.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${resolve('examples/demo-backend/server.mjs')}"]
        env: { LS_TEST_MARK: "${o.mark}", DRAIN_MS: "100" }
        log_dir: "${o.dir}/logs"
        stop_grace: 1s
    scaling: { min: ${n}, max: ${n}, policy: { builtin: target-tracking, params: { metric: cpu, target: 60 } } }
`;
}

/** A running command with its output collected and line waits. */
export interface Running {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves with the exit code and signal once the process exited, and when (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the n-th matching line once `n` stdout lines match `re`; rejects on exit or after `ms`. */
  waitForLines(re: RegExp, n?: number, ms?: number): Promise<string>;
}

/** Spawns `command args` with stdout read line by line. */
export function run(command: string, args: string[], options: SpawnOptions = {}): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters) w();
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal, at: performance.now() })),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLines(re, n = 1, ms = 30_000) {
      return new Promise((done, fail) => {
        const timer = setTimeout(() => finish(new Error(`no ${n} line(s) ${re} within ${ms} ms`)), ms);
        const check = () => {
          const matching = lines.filter((l) => re.test(l));
          if (matching.length >= n) finish(undefined, matching[n - 1]);
        };
        let settled = false;
        const finish = (err?: Error, line?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          waiters.delete(check);
          if (err) fail(new Error(`${err.message}\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
          else done(line!);
        };
        waiters.add(check);
        void exited.then(({ code }) => finish(new Error(`exited (${code}) before ${re}`)));
        check();
      });
    },
  };
}

/** `luascale up -c cfg` from the sources. */
export function runUp(cfg: string, options: SpawnOptions = {}): Running {
  return run(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/luascale-cli.ts', 'up', '-c', cfg],
    options,
  );
}

/** Resolves true once `predicate` holds, polling every `everyMs`, or false after `ms`. */
export async function eventually(predicate: () => boolean, ms: number, everyMs = 100): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}
