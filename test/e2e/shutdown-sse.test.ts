/**
 * Regression (issue 14, item 6): SIGTERM never finished while an event-stream client was
 * connected; `up` printed "draining…" and kept running with its instances until the client went.
 * Now the streams are closed on shutdown and the process exits within `gateway.drain_timeout`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { get, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const backend = resolve('examples/demo-backend/server.mjs');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Live (non-zombie) processes whose environment carries our marker. */
function markedPids(mark: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').includes(`LS_TEST_MARK=${mark}`)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      out.push(Number(d));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves when `n` lines matching `re` have been printed (rejects if the child exits first). */
function waitForLines(child: ChildProcess, lines: string[], re: RegExp, n: number): Promise<void> {
  return new Promise((done, fail) => {
    const check = () => {
      if (lines.filter((l) => re.test(l)).length >= n) {
        child.stdout!.off('line-added', check);
        done();
      }
    };
    child.stdout!.on('line-added', check);
    child.once('exit', (code) => fail(new Error(`exited (${code}) before ${re}:\n${lines.join('\n')}`)));
    check();
  });
}

/** Opens the event stream and resolves once the server's first comment arrived. */
function openStream(port: number): Promise<IncomingMessage> {
  return new Promise((done, fail) => {
    const req = get(`http://127.0.0.1:${port}/v1/events/stream`, (res) => {
      res.once('data', () => done(res));
      res.on('error', () => {});
    });
    req.on('error', fail);
  });
}

test(
  'SIGTERM with three SSE clients connected exits within drain_timeout and leaves no instances',
  {
    timeout: 60_000,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-shutdown-sse-'));
    const mark = randomBytes(6).toString('hex');
    const [gPort, aPort] = [await freePort(), await freePort()];
    const drainMs = 2000;
    const cfg = join(dir, 'luascale.yaml');
    writeFileSync(
      cfg,
      `gateway: { listen: "127.0.0.1:${gPort}", access_log: "off", drain_timeout: ${drainMs}ms }
admin: { listen: "127.0.0.1:${aPort}" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        env: { LS_TEST_MARK: "${mark}", DRAIN_MS: "100" }
        log_dir: "${dir}/logs"
        stop_grace: 1s
    scaling: { min: 3, max: 3, policy: { builtin: target-tracking, params: { metric: cpu, target: 60 } } }
`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/luascale-cli.ts', 'up', '-c', cfg],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      child.stdout!.emit('line-added');
    });
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal, at: performance.now() })),
    );
    const streams: IncomingMessage[] = [];
    try {
      await waitForLines(child, lines, /instance \S+ ready/, 3);
      await waitForLines(child, lines, /admin API and dashboard on/, 1);
      const pids = markedPids(mark);
      assert.equal(pids.length, 3, `three instance processes: ${pids}`);
      for (let i = 0; i < 3; i++) streams.push(await openStream(aPort));
      const ended = streams.map((s) => new Promise<void>((r) => s.once('close', () => r())));

      const sent = performance.now();
      child.kill('SIGTERM');
      // A deadline, not a sleep: before the fix the process never exited while a stream was open.
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        exited,
        new Promise<never>((_, fail) => {
          timer = setTimeout(
            () => fail(new Error(`still running ${drainMs + 10_000} ms after SIGTERM`)),
            drainMs + 10_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      const tookMs = exit.at - sent;
      assert.equal(exit.code, 0, `exit code (signal ${exit.signal}); stderr: ${stderr}\n${lines.join('\n')}`);
      // drain_timeout plus a margin for the instances' SIGTERM and the process's own teardown.
      assert.ok(
        tookMs < drainMs + 1500,
        `exited after ${Math.round(tookMs)} ms (drain_timeout ${drainMs} ms)`,
      );
      await Promise.all(ended);
      assert.deepEqual(
        pids.filter((p) => alive(p)),
        [],
        'every instance process is gone',
      );
      assert.deepEqual(markedPids(mark), []);
    } finally {
      for (const s of streams) s.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const p of markedPids(mark)) process.kill(p, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
