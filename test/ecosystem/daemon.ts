/**
 * Test helper: runs a real Prometheus-family daemon (prometheus, alertmanager) on a free loopback
 * port with a temp dir, waits for its "ready" log line (an event, not a sleep) and then for its
 * /-/ready endpoint, and kills it at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../src/providers/free-port.js';

/** A running daemon. */
export interface Daemon {
  url: string;
  dir: string;
  child: ChildProcess;
  /** Everything it logged so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** The first of `candidates` that exists, or null (the test then skips with a message). */
export function findBinary(...candidates: string[]): string | null {
  for (const c of candidates) if (existsSync(c)) return c;
  return null;
}

/**
 * Starts `bin` with `args(dir, port)` after writing `files` into a fresh temp dir. Resolves once a
 * log line matches `readyLine` and GET /-/ready answers 200; rejects if the process exits first or
 * `timeoutMs` passes.
 */
export async function startDaemon(options: {
  bin: string;
  files: (port: number) => Record<string, string>;
  args: (dir: string, port: number) => string[];
  readyLine: RegExp;
  timeoutMs?: number;
}): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'ls-eco-'));
  const port = await freePort();
  for (const [name, text] of Object.entries(options.files(port))) writeFileSync(join(dir, name), text);
  const child = spawn(options.bin, options.args(dir, port), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`${options.bin} not ready within ${options.timeoutMs ?? 15000} ms:\n${output}`)),
        options.timeoutMs ?? 15000,
      );
      const onData = (b: Buffer) => {
        output += b.toString();
        if (options.readyLine.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${options.bin} exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
    const res = await request(`${url}/-/ready`);
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${url}/-/ready answered ${res.statusCode}: ${body}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, dir, child, log: () => output, stop };
}
