/**
 * Regression (issue 14, item 6): SIGTERM never finished while an event-stream client was
 * connected; `up` printed "draining…" and kept running with its instances until the client went.
 * Now the streams are closed on shutdown and the process exits within `gateway.drain_timeout`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { alive, freePort, markedPids, runUp } from '../helpers/up-process.js';

const backend = resolve('examples/demo-backend/server.mjs');

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
    const up = runUp(cfg);
    const { child, lines, exited } = up;
    const streams: IncomingMessage[] = [];
    try {
      await up.waitForLines(/instance \S+ ready/, 3, 60_000);
      await up.waitForLines(/admin API and dashboard on/, 1, 60_000);
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
      assert.equal(
        exit.code,
        0,
        `exit code (signal ${exit.signal}); stderr: ${up.stderr()}\n${lines.join('\n')}`,
      );
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
