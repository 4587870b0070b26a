/**
 * The fault scenarios of issue 9. Each runs one fault under a bounded load on loopback and returns
 * one row: what was expected, what happened, requests sent / ok / failed / lost, time to recover.
 * `npm run test:faults` runs them all (test/faults/run.ts); test/e2e/faults.test.ts runs a quick
 * subset in CI and asserts `pass`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { runLoad, constantRate } from '../../src/loadgen/index.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import { ServiceController, type MetricSource } from '../../src/controller/service-controller.js';
import { defaultBehavior } from '../../src/controller/behavior-defaults.js';
import type { Decision } from '../../src/controller/decision.js';
import type { Instance, Provider, ProviderEvents } from '../../src/controller/provider.js';
import {
  backend,
  fakeUpstream,
  okUpstream,
  readyCount,
  recoveredAfter,
  rssMiB,
  startHarness,
  tally,
  type Budget,
  type Fault,
  type FaultResult,
  type UpstreamMode,
} from './fault-harness.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

const skip = (fault: string, expectation: string, why: string): FaultResult => ({
  fault,
  expectation,
  happened: '',
  sent: 0,
  ok: 0,
  failed: 0,
  lost: 0,
  recoverMs: null,
  pass: true,
  skipped: why,
});

// ── Instances die ────────────────────────────────────────────────────────────────────────────

const killExpect =
  'random established instances SIGKILLed: 0 client-visible 5xx, 0 lost; each replacement ready ≤ 3 s';
/** SIGKILL a random ready instance every ~1.5 s of a steady GET load. */
export const instancesDie: Fault = {
  name: 'instance SIGKILL',
  expectation: killExpect,
  async run(b) {
    const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    provider: { process: { command: ["${process.execPath}", "${backend}"], log_dir: "\${DIR}/logs", stop_grace: 2s, env: { BURN_MS: "1" } } }
    scaling: { min: 3, max: 3, interval: 1s, policy: { builtin: target-tracking, params: { metric: rps, target: 1000 } } }
`);
    try {
      const provider = h.app.providers.get('web')!;
      await readyCount(h, 'web', 3);
      // The crash back-off treats the death of an instance ready < 10 s as a crash loop (1 s, 2 s,
      // 4 s …, see crash-backoff.ts). The full run kills established instances: let them age first
      // (a scenario precondition, not a synchronisation wait).
      if (!b.quick) await new Promise((r) => setTimeout(r, 10_500));
      const kills: number[] = [];
      const replaced: number[] = [];
      provider.on(
        'ready',
        () => kills.length > replaced.length && replaced.push(Date.now() - kills[replaced.length]!),
      );
      const killsWanted = b.quick ? 2 : 4;
      const start = Date.now();
      const summary = await runLoad({
        url: `${h.app.gatewayUrl}/slow?ms=20`,
        pattern: constantRate(b.quick ? 40 : 80),
        durationMs: b.loadMs,
        maxRequests: 20_000,
        timeoutMs: 10_000,
        onSecond: (s) => {
          if (s.t >= 1 && kills.length < killsWanted && (b.quick || (s.t - 1) % 2 === 0)) {
            const ready = provider.list().filter((i) => i.state === 'ready' && i.pid);
            const aged = ready.filter((i) => Date.now() - (i.readyAt ?? Date.now()) >= 10_000);
            const pool = aged.length
              ? aged
              : ready.sort((x, y) => (x.readyAt ?? 0) - (y.readyAt ?? 0)).slice(0, 1);
            const victim = pool[Math.floor(Math.random() * pool.length)];
            if (victim) {
              kills.push(Date.now());
              process.kill(victim.pid!, 'SIGKILL');
            }
          }
        },
      });
      // Wait (event-driven, bounded) for every replacement; the list may still show a killed one as ready.
      await new Promise<void>((done) => {
        if (replaced.length >= kills.length) return done();
        const timer = setTimeout(done, 10_000);
        const off = provider.on(
          'ready',
          () => replaced.length >= kills.length && (clearTimeout(timer), off(), done()),
        );
      });
      const t = tally(summary);
      const fivexx = Object.entries(summary.statuses)
        .filter(([c]) => c.startsWith('5'))
        .reduce((a, [, n]) => a + n, 0);
      const worst = Math.max(0, ...replaced);
      return {
        fault: this.name,
        expectation: this.expectation,
        happened: `${kills.length} kills; ${fivexx} 5xx; replacements ready after ${replaced.map((x) => x + ' ms').join(', ') || 'none'}; ${JSON.stringify(summary.errorKinds)}`,
        ...t,
        recoverMs: worst,
        pass:
          fivexx === 0 &&
          t.lost === 0 &&
          replaced.length === kills.length &&
          worst <= 3000 &&
          Date.now() - start > 0,
      };
    } finally {
      await h.close();
    }
  },
};

// ── Instances go bad ─────────────────────────────────────────────────────────────────────────

/** One of three static upstreams misbehaves in `mode`; the gateway must time out, eject and recover. */
function badInstance(
  mode: UpstreamMode,
  expectation: string,
  judge: (r: FaultResult, statuses: Record<string, number>, ejected: boolean) => boolean,
): Fault {
  return {
    name: `instance goes bad: ${mode}`,
    expectation,
    async run(b) {
      const good = [await okUpstream(), await okUpstream()];
      const bad = await fakeUpstream('ok', { slowMs: 300 });
      const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    provider: { static: { targets: ["${good[0]!.url}", "${good[1]!.url}", "${bad.url}"] } }
    scaling: { min: 1, max: 3, policy: { builtin: target-tracking, params: { metric: rps, target: 1000 } } }
    traffic: { timeouts: { connect: 500ms, response: 500ms } }
    balancer: { algorithm: round-robin }
`);
      try {
        // Healthy first, then the fault starts one second into the load.
        const faultAtS = 1;
        const summary = await runLoad({
          url: `${h.app.gatewayUrl}/x`,
          pattern: constantRate(30),
          // Long enough for clean seconds after the fault: the fault starts at 1 s, timeouts end by 2 s.
          durationMs: Math.max(b.loadMs, 4000),
          maxRequests: 10_000,
          timeoutMs: 5000,
          onSecond: (s) => {
            if (s.t === faultAtS - 1) bad.mode = mode;
          },
        });
        const inst = h.app.gateway.instances('web');
        const ejected = inst.some((i) => i.url === bad.url && i.health === 'ejected');
        const t = tally(summary);
        const row: FaultResult = {
          fault: this.name,
          expectation: this.expectation,
          happened: `statuses ${JSON.stringify(summary.statuses)}; errors ${JSON.stringify(summary.errorKinds)}; bad upstream ${ejected ? 'ejected' : 'not ejected'}; p99 ${summary.latencyMs.p99.toFixed(0)} ms`,
          ...t,
          recoverMs: recoveredAfter(summary, faultAtS),
          pass: false,
        };
        row.pass = judge(row, summary.statuses, ejected);
        return row;
      } finally {
        await h.close();
        await Promise.all([...good, bad].map((u) => u.close()));
      }
    },
  };
}

// Bound: the 5 consecutive failures that eject, plus what was already in flight to it (rate/3 × timeout).
const failedBounded = (r: FaultResult, limit = 8) => r.failed + r.lost <= limit && r.recoverMs !== null;
export const instanceHangs = badInstance(
  'hang',
  'response timeout fires: a few clear 504, instance ejected, the rest 200',
  (r, st, ej) => ej && failedBounded(r, 15) && r.lost === 0 && r.failed === (st['504'] ?? 0),
);
export const instanceSlow = badInstance(
  'slow',
  'answers in 300 ms, under the 500 ms timeout: 0 failed, 0 lost',
  (r) => r.failed === 0 && r.lost === 0,
);
export const instanceGarbage = badInstance(
  'garbage',
  'malformed response: a few clear 502, instance ejected, the rest 200',
  (r, st, ej) => ej && failedBounded(r) && r.lost === 0 && r.failed === (st['502'] ?? 0),
);
export const instanceCuts = badInstance(
  'cut',
  'body cut mid-response: client connection cut (never a wrong 200 body), instance ejected',
  (r, _st, ej) => ej && failedBounded(r),
);

// ── luascale restarts ────────────────────────────────────────────────────────────────────────

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** pids of live (non-zombie) processes whose environment carries the marker. */
export function markedPids(mark: string): number[] {
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
  return out.sort((a, b) => a - b);
}

function upChild(cfg: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/luascale-cli.ts', 'up', '-c', cfg],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const rl = createInterface({ input: child.stdout! });
  const waiters: Array<() => void> = [];
  rl.on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) w();
  });
  return {
    child,
    lines,
    stderr: () => stderr,
    waitFor(re: RegExp, count = 1, timeoutMs = 30_000): Promise<string> {
      return new Promise((done, fail) => {
        const check = () => {
          const hits = lines.filter((x) => re.test(x));
          if (hits.length >= count) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            done(hits[hits.length - 1]!);
          }
        };
        const timer = setTimeout(
          () => fail(new Error(`no ${re} in ${timeoutMs} ms: ${stderr}\n${lines.join('\n')}`)),
          timeoutMs,
        );
        waiters.push(check);
        check();
        child.once(
          'exit',
          () => (clearTimeout(timer), fail(new Error(`luascale exited before ${re}: ${stderr}`))),
        );
      });
    },
  };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (code) => r(code)));
}

async function restartSetup(replicas: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ls-fault-up-'));
  const mark = randomBytes(6).toString('hex');
  const [gPort, aPort] = [await freePort(), await freePort()];
  const cfg = join(dir, 'luascale.yaml');
  writeFileSync(
    cfg,
    `gateway: { listen: "127.0.0.1:${gPort}", access_log: "off", drain_timeout: 10s }
admin: { listen: "127.0.0.1:${aPort}" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        env: { LS_TEST_MARK: "${mark}", BURN_MS: "1" }
        log_dir: "${dir}/logs"
        stop_grace: 5s
    scaling: { min: ${replicas}, max: ${replicas}, policy: { builtin: target-tracking, params: { metric: rps, target: 1000 } } }
`,
  );
  const cleanup = () => {
    for (const pid of markedPids(mark)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, mark, gPort, aPort, cfg, cleanup };
}

/** SIGTERM while slow requests are in flight: every one completes 200; no instance outlives it. */
export const sigtermDuringLoad: Fault = {
  name: 'luascale SIGTERM during load',
  expectation: 'every in-flight request completes 200; exit 0; 0 orphaned instances',
  async run(b) {
    const s = await restartSetup(2);
    const up = upChild(s.cfg);
    try {
      await up.waitFor(/instance \S+ ready/, 2);
      await up.waitFor(/gateway on/);
      const n = b.quick ? 10 : 40;
      // Each request holds 1.5 s at the backend; SIGTERM lands once the gateway has them all.
      const inflight = Array.from({ length: n }, () =>
        request(`http://127.0.0.1:${s.gPort}/slow?ms=1500`).then(
          async (r) => (await r.body.text(), r.statusCode),
          (e: Error) => (e as any).code ?? e.message,
        ),
      );
      const deadline = Date.now() + 5000;
      for (;;) {
        const svc = (await (await request(`http://127.0.0.1:${s.aPort}/v1/services/web`)).body.json()) as any;
        const busy = (svc.instances as Array<{ inflight: number }>).reduce((a, i) => a + i.inflight, 0);
        if (busy >= n || Date.now() > deadline) break;
        await new Promise((r) => setImmediate(r));
      }
      const t0 = Date.now();
      up.child.kill('SIGTERM');
      const results = await Promise.all(inflight);
      const code = await exited(up.child);
      const stopMs = Date.now() - t0;
      const okN = results.filter((x) => x === 200).length;
      const orphans = markedPids(s.mark);
      return {
        fault: this.name,
        expectation: this.expectation,
        happened: `${okN}/${n} in-flight answered 200 (${JSON.stringify(results.filter((x) => x !== 200))}); exit ${code} after ${stopMs} ms; ${orphans.length} orphaned`,
        sent: n,
        ok: okN,
        failed: results.filter((x) => typeof x === 'number' && x !== 200).length,
        lost: results.filter((x) => typeof x !== 'number').length,
        recoverMs: null,
        pass: okN === n && code === 0 && orphans.length === 0,
      };
    } finally {
      if (up.child.exitCode === null) up.child.kill('SIGKILL');
      s.cleanup();
    }
  },
};

/** kill -9 of luascale under load, restart: adoption, no duplicates/orphans, events kept. */
export const kill9DuringLoad: Fault = {
  name: 'luascale kill -9 during load',
  expectation: 'restart adopts the instances (0 duplicates, 0 orphans), replicas and event log restored',
  async run(b) {
    const s = await restartSetup(3);
    const a = upChild(s.cfg);
    let c: ReturnType<typeof upChild> | undefined;
    try {
      await a.waitFor(/instance \S+ ready/, 3);
      await a.waitFor(/gateway on/);
      const before = markedPids(s.mark);
      const eventsBefore = (
        (await (await request(`http://127.0.0.1:${s.aPort}/v1/events?limit=1000`)).body.json()) as any
      ).events as Array<{ id: number }>;
      let killedAt = 0;
      const summary = await runLoad({
        url: `http://127.0.0.1:${s.gPort}/work`,
        pattern: constantRate(20),
        durationMs: Math.min(b.loadMs, 4000),
        maxRequests: 500,
        timeoutMs: 5000,
        onSecond: (x) => {
          if (x.t === 1 && !killedAt) {
            killedAt = Date.now();
            a.child.kill('SIGKILL');
          }
        },
      });
      await exited(a.child);
      c = upChild(s.cfg);
      const adopted = await c.waitFor(/adopted \d+ running instance/);
      await c.waitFor(/gateway on/);
      const recoverMs = Date.now() - killedAt;
      const svc = (await (await request(`http://127.0.0.1:${s.aPort}/v1/services/web`)).body.json()) as any;
      const after = markedPids(s.mark);
      const eventsAfter = (
        (await (await request(`http://127.0.0.1:${s.aPort}/v1/events?limit=1000`)).body.json()) as any
      ).events as Array<{ id: number }>;
      const ids = new Set(eventsAfter.map((e) => e.id));
      const kept = eventsBefore.filter((e) => ids.has(e.id)).length;
      const probe = await request(`http://127.0.0.1:${s.gPort}/work`);
      await probe.body.dump();
      c.child.kill('SIGTERM');
      const code = await exited(c.child);
      const orphans = markedPids(s.mark);
      const t = tally(summary);
      return {
        fault: this.name,
        expectation: this.expectation,
        happened: `${adopted.replace(/^.*?(adopted)/, '$1')}; ready ${svc.replicas?.ready}; pids same: ${JSON.stringify(after) === JSON.stringify(before)}; events kept ${kept}/${eventsBefore.length}; after restart GET → ${probe.statusCode}; final SIGTERM exit ${code}, ${orphans.length} orphans (requests during the outage: ${t.lost} refused)`,
        ...t,
        recoverMs,
        pass:
          /adopted 3 running/.test(adopted) &&
          svc.replicas?.ready === 3 &&
          JSON.stringify(after) === JSON.stringify(before) &&
          kept === eventsBefore.length &&
          probe.statusCode === 200 &&
          code === 0 &&
          orphans.length === 0,
      };
    } finally {
      for (const x of [a, c]) if (x && x.child.exitCode === null) x.child.kill('SIGKILL');
      s.cleanup();
    }
  },
};

// ── Dependencies fail ────────────────────────────────────────────────────────────────────────

function storeConfig(file: string): string {
  return `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${file}" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
`;
}

/** Starts luascale on a broken store; returns the error's code and first line (or 'started'). */
async function startOn(file: string): Promise<string> {
  try {
    const app = await startApp(
      { config: parseConfig(storeConfig(file), '/tmp/x.yaml'), file: '/tmp/x.yaml', baseDir: '/tmp' },
      {},
    );
    await app.close({ graceMs: 100 });
    return 'started';
  } catch (err) {
    return isLuascaleError(err)
      ? `${err.code}: ${err.message.split('\n')[0]}`
      : `UNCLEAR ${(err as Error).stack?.split('\n')[0]}`;
  }
}

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const d = mkdtempSync(join(tmpdir(), 'ls-mnt-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d], { stdio: 'ignore' });
    execFileSync('umount', [d], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

/** SQLite locked by another writer, corrupt, read-only, on a full disk: a clear error each. */
export const storeFails: Fault = {
  name: 'SQLite locked / corrupt / read-only / full',
  expectation:
    'a clear LS_ERR_STORE_* error naming the file at start; disk full while running: error logged, events kept queued, traffic unaffected',
  async run(b) {
    const dir = mkdtempSync(join(tmpdir(), 'ls-fault-db-'));
    const out: string[] = [];
    let clear = 0;
    let cases = 0;
    const mountOk = canMount();
    const mounts: string[] = [];
    try {
      // Locked: another connection holds an exclusive transaction.
      const lockedFile = join(dir, 'locked.db');
      const holder = new Database(lockedFile);
      holder.pragma('journal_mode = WAL');
      holder.exec('CREATE TABLE IF NOT EXISTS t(x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);');
      const locked = await startOn(lockedFile);
      holder.exec('ROLLBACK');
      holder.close();
      out.push(`locked → ${locked}`);
      cases++;
      if (/^LS_ERR_STORE/.test(locked) && locked.includes(lockedFile)) clear++;
      // Corrupt: random bytes where the database should be.
      const corruptFile = join(dir, 'corrupt.db');
      writeFileSync(corruptFile, randomBytes(8192));
      const corrupt = await startOn(corruptFile);
      out.push(`corrupt → ${corrupt}`);
      cases++;
      if (/^LS_ERR_STORE/.test(corrupt) && corrupt.includes(corruptFile)) clear++;
      if (mountOk) {
        // Read-only: a tmpfs remounted ro after the database was created.
        const ro = join(dir, 'ro');
        mkdirSync(ro);
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', ro]);
        mounts.push(ro);
        const roFile = join(ro, 'ls.db');
        const db = new Database(roFile);
        db.exec('CREATE TABLE t(x)');
        db.close();
        execFileSync('mount', ['-o', 'remount,ro', ro]);
        const roRes = await startOn(roFile);
        out.push(`read-only → ${roRes}`);
        cases++;
        if (/^LS_ERR_STORE/.test(roRes) && roRes.includes(roFile)) clear++;
        // Full: a 64 KiB tmpfs. Either the start fails clearly or the running store reports it.
        const full = join(dir, 'full');
        mkdirSync(full);
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
        mounts.push(full);
        const fullFile = join(full, 'ls.db');
        const fullRes = await startOn(fullFile);
        out.push(`full at start → ${fullRes}`);
        cases++;
        if (/^LS_ERR_STORE/.test(fullRes) || fullRes === 'started') clear++;
      } else {
        out.push('read-only and disk-full skipped: mount not permitted (needs root)');
      }
      return {
        fault: this.name,
        expectation: this.expectation,
        happened: out.join('; '),
        sent: 0,
        ok: 0,
        failed: 0,
        lost: 0,
        recoverMs: null,
        pass: clear === cases && !out.some((x) => x.includes('UNCLEAR')) && b.loadMs > 0,
      };
    } finally {
      for (const m of mounts.reverse()) {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'ignore' });
        } catch {
          // not mounted
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** The running store's disk fills up under load: errors are reported, traffic is unaffected. */
export const diskFullWhileRunning: Fault = {
  name: 'disk full while running',
  expectation: 'store errors logged and queued events kept; gateway traffic unaffected (0 failed)',
  async run(b) {
    if (!canMount()) return skip(this.name, this.expectation, 'mount not permitted (needs root)');
    const dir = mkdtempSync(join(tmpdir(), 'ls-fault-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', dir]);
    const up = await okUpstream();
    try {
      const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider: { static: { targets: ["${up.url}"] } }
    scaling: { min: 1, max: 1, interval: 200ms, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
`);
      try {
        // Fill what is left of the tmpfs.
        try {
          writeFileSync(join(dir, 'filler'), Buffer.alloc(1 << 20));
        } catch {
          // ENOSPC: the disk is full now, as intended
        }
        const summary = await runLoad({
          url: `${h.app.gatewayUrl}/x`,
          pattern: constantRate(50),
          durationMs: b.loadMs,
          maxRequests: 10_000,
          timeoutMs: 5000,
        });
        // The store reports write failures on stderr and keeps every failed write queued.
        const pending = h.app.store.pending();
        const storeErrors =
          pending.events + pending.samples > 0 ? [`write failed, queued: ${JSON.stringify(pending)}`] : [];
        const t = tally(summary);
        return {
          fault: this.name,
          expectation: this.expectation,
          happened: `${storeErrors[0] ?? 'no store error'}; traffic ${JSON.stringify(summary.statuses)}`,
          ...t,
          recoverMs: null,
          pass: t.failed === 0 && t.lost === 0 && storeErrors.length > 0,
        };
      } finally {
        await h.app.close({ graceMs: 500 }).catch(() => {});
      }
    } finally {
      await up.close();
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      } catch {
        // not mounted
      }
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** An in-memory provider: instances are ready at once (for controller-only faults). */
class MemoryProvider implements Provider {
  readonly kind = 'memory';
  readonly advisory = false;
  #n = 0;
  #live = new Map<string, Instance>();
  constructor(readonly service: string) {}
  list(): Instance[] {
    return [...this.#live.values()];
  }
  async launch(): Promise<Instance> {
    const id = `inst_${++this.#n}`;
    const inst: Instance = {
      id,
      service: this.service,
      url: `http://127.0.0.1:1/${id}`,
      state: 'ready',
      startedAt: 0,
    };
    this.#live.set(id, inst);
    return inst;
  }
  async drain(): Promise<void> {}
  async stop(id: string): Promise<void> {
    this.#live.delete(id);
  }
  async close(): Promise<void> {
    this.#live.clear();
  }
  on<E extends keyof ProviderEvents>(_e: E, _l: ProviderEvents[E]): () => void {
    return () => {};
  }
}

/** A metric source that throws, then one that never answers: the loop keeps ticking. */
export const metricSourceFails: Fault = {
  name: 'metric source errors / hangs',
  expectation: 'the loop keeps deciding (no crash, no stuck tick); the source error is reported',
  async run() {
    const out: string[] = [];
    let ok = true;
    for (const kind of ['errors', 'hangs'] as const) {
      const clock = new ManualClock(1_000_000);
      const source: MetricSource = {
        name: 'queue_depth',
        read: () =>
          kind === 'errors'
            ? Promise.reject(new Error('upstream metrics 500'))
            : new Promise<number>(() => {}),
      };
      const c = new ServiceController({
        spec: rpsScalingSpec(),
        provider: new MemoryProvider('web'),
        clock,
        signals: { snapshot: () => ({ rps: 100 }) },
        metricSources: [source],
      });
      const decisions: Decision[] = [];
      for (let i = 0; i < 3; i++) {
        // A hung source must not hang the tick: bound each tick at 5 s of real time.
        const d = await Promise.race([
          c.tick(),
          new Promise<null>((r) => setTimeout(() => r(null), 5000).unref()),
        ]);
        if (d) decisions.push(d);
        clock.advance(1000);
      }
      const err = c.status().errors.metricSources.queue_depth;
      out.push(
        `${kind}: ${decisions.length}/3 ticks decided (${decisions.map((d) => d.replicas).join(',')}), source error ${err ? JSON.stringify(err) : 'none'}`,
      );
      if (decisions.length !== 3 || !err) ok = false;
    }
    return {
      fault: this.name,
      expectation: this.expectation,
      happened: out.join('; '),
      sent: 0,
      ok: 0,
      failed: 0,
      lost: 0,
      recoverMs: null,
      pass: ok,
    };
  },
};

/** A provider command that does not exist, and one that exits at once: luascale stays up. */
export const providerCommandFails: Fault = {
  name: 'provider command fails',
  expectation: 'luascale keeps running (admin answers); failures recorded; crash loop backs off and alerts',
  async run(b) {
    const out: string[] = [];
    let pass = true;
    // A missing binary is refused before anything starts (the pre-flight, issue 17 item 6).
    const refused = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    provider: { process: { command: ["/nonexistent/binary"] } }
    scaling: { min: 1, max: 2, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
`).then(
      async (h) => (await h.close(), ''),
      (err: Error) => err.message,
    );
    out.push(`missing binary: ${refused ? 'refused at start' : 'started'}`);
    if (!/not an executable file/.test(refused)) pass = false;
    for (const [label, command, env] of [
      ['exits on start', `["${process.execPath}", "${backend}"]`, '{ EXIT_ON_START: "3" }'],
    ] as const) {
      const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    provider: { process: { command: ${command}, env: ${env}, log_dir: "\${DIR}/logs" } }
    scaling: { min: 1, max: 2, interval: 200ms, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
`);
      try {
        // Wait (event-driven) for the first failure or error to be recorded.
        await new Promise<void>((done) => {
          const until = Date.now() + (b.quick ? 4000 : 8000);
          const check = () => {
            if (
              h.events.filter(
                (e) =>
                  e.type === 'error' ||
                  e.type === 'alert' ||
                  (e.type === 'instance' && /fail|exit/.test(String((e.data as any).state))),
              ).length >= 3 ||
              Date.now() > until
            )
              return done();
            setTimeout(check, 100).unref();
          };
          check();
        });
        const health = await request(`${h.app.adminUrl}/healthz`);
        await health.body.dump();
        const kinds = [
          ...new Set(
            h.events.map((e) => `${e.type}${e.type === 'alert' ? ':' + ((e.data as any).name ?? '') : ''}`),
          ),
        ];
        const launched = h.events.filter(
          (e) => e.type === 'instance' && (e.data as any).state === 'starting',
        ).length;
        out.push(`${label}: admin ${health.statusCode}; events ${kinds.join(',')}; ${launched} launches`);
        if (
          health.statusCode !== 200 ||
          !h.events.some((e) => e.type === 'error' || e.type === 'alert' || e.type === 'instance')
        )
          pass = false;
      } finally {
        await h.close();
      }
    }
    out.push('exec provider hangs: skipped (no exec provider in this build)');
    return {
      fault: this.name,
      expectation: this.expectation,
      happened: out.join('; '),
      sent: 0,
      ok: 0,
      failed: 0,
      lost: 0,
      recoverMs: null,
      pass,
    };
  },
};

// ── Time ─────────────────────────────────────────────────────────────────────────────────────

/** Wall clock jumps ±1 h between ticks: decisions follow the monotonic clock and do not flap. */
export const wallClockJumps: Fault = {
  name: 'wall clock jumps ±1 h',
  expectation: 'same decisions as without jumps; scale-down waits the full monotonic window; no flapping',
  async run() {
    const run = async (jumps: boolean) => {
      const clock = new ManualClock(1_000_000);
      const behavior = defaultBehavior();
      behavior.scaleDown.stabilizationMs = 10_000;
      behavior.panic.holdMs = 5000;
      const provider = new MemoryProvider('web');
      const signal = { rps: 200 };
      const c = new ServiceController({
        spec: rpsScalingSpec({ max: 8, behavior }),
        provider,
        clock,
        signals: { snapshot: () => ({ rps: signal.rps }) },
      });
      const seq: number[] = [];
      for (let i = 0; i < 40; i++) {
        if (i === 10) signal.rps = 50;
        if (jumps && i % 4 === 1) clock.jumpWall(3_600_000);
        if (jumps && i % 4 === 3) clock.jumpWall(-3_600_000 * (i % 8 === 3 ? 2 : 1));
        seq.push((await c.tick()).replicas);
        clock.advance(1000);
      }
      await provider.close();
      return seq;
    };
    const calm = await run(false);
    const jumpy = await run(true);
    let changes = 0;
    for (let i = 1; i < jumpy.length; i++)
      if (
        Math.sign(jumpy[i]! - jumpy[i - 1]!) !== 0 &&
        Math.sign(jumpy[i]! - jumpy[i - 1]!) !== Math.sign(jumpy[i - 1]! - (jumpy[i - 2] ?? jumpy[i - 1]!))
      )
        changes++;
    const firstDown = jumpy.findIndex((r, i) => i > 10 && r < jumpy[10]!);
    return {
      fault: this.name,
      expectation: this.expectation,
      happened: `replicas with jumps ${jumpy.join(',')}; without ${calm.join(',')}; first scale-down ${firstDown - 9} s after the last high recommendation (window 10 s); direction changes ${changes}`,
      sent: 0,
      ok: 0,
      failed: 0,
      lost: 0,
      recoverMs: null,
      pass: JSON.stringify(calm) === JSON.stringify(jumpy) && firstDown - 9 >= 10 && changes <= 2,
    };
  },
};

// ── Overload ─────────────────────────────────────────────────────────────────────────────────

/** 10× capacity at max replicas: queue, then shed 503 fast; admitted requests meet the SLO. */
export const overload: Fault = {
  name: 'overload 10× capacity at max',
  expectation:
    'excess shed with 503 (queue bounded at 10, 1 s), 0 lost, admitted p99 ≤ 1.3 s, RSS growth < 64 MiB',
  async run(b) {
    const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    provider: { process: { command: ["${process.execPath}", "${backend}"], log_dir: "\${DIR}/logs" } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 5 } } }
    traffic: { concurrency: { per_instance: 2 }, queue: { max: 10, timeout: 1s } }
`);
    try {
      await readyCount(h, 'web', 1);
      const rss0 = rssMiB();
      // Capacity: 2 in flight × 10 requests/s each (100 ms) = 20 rps; offer 200 rps.
      const summary = await runLoad({
        url: `${h.app.gatewayUrl}/slow?ms=100`,
        pattern: constantRate(200),
        durationMs: b.loadMs,
        maxRequests: 20_000,
        maxInFlight: 2000,
        timeoutMs: 10_000,
      });
      const growth = rssMiB() - rss0;
      const t = tally(summary);
      const okP99 = Math.max(...summary.timeline.filter((s) => s.ok > 0).map((s) => s.p99));
      return {
        fault: this.name,
        expectation: this.expectation,
        happened: `${summary.ok} admitted (${(summary.ok / (b.loadMs / 1000)).toFixed(1)}/s), ${summary.status503} shed 503; worst per-second p99 ${okP99.toFixed(0)} ms; RSS +${growth.toFixed(1)} MiB; other ${JSON.stringify(summary.errorKinds)}`,
        ...t,
        recoverMs: null,
        pass:
          t.lost === 0 &&
          summary.status503 > 0 &&
          summary.ok > 0 &&
          t.failed === summary.status503 &&
          okP99 <= 1300 &&
          growth < 64,
      };
    } finally {
      await h.close();
    }
  },
};

// ── Slow clients ─────────────────────────────────────────────────────────────────────────────

/** Slowloris sockets and slow readers of 8 MiB bodies next to normal traffic. */
export const slowClients: Fault = {
  name: 'slowloris + slow readers',
  expectation:
    'normal requests 0 failed / 0 lost; slowloris sockets closed (408) after request_timeout; RSS bounded (< 128 MiB growth)',
  async run(b) {
    const good = await okUpstream();
    const big = await fakeUpstream('big', { bigBytes: 8 << 20 });
    const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off", request_timeout: 2s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    routes: [{ path_prefix: "/" }]
    provider: { static: { targets: ["${good.url}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
  big:
    routes: [{ path_prefix: "/big" }]
    provider: { static: { targets: ["${big.url}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
`);
    const port = Number(new URL(h.app.gatewayUrl).port);
    const socks: net.Socket[] = [];
    const closedBy408: number[] = [];
    try {
      const rss0 = rssMiB();
      const nLoris = b.quick ? 100 : 400;
      for (let i = 0; i < nLoris; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        let got = '';
        s.on('data', (c) => (got += c));
        s.on('close', () => /^HTTP\/1\.1 408/.test(got) && closedBy408.push(i));
        s.write('GET / HTTP/1.1\r\nHost: x\r\nX-a: ');
        const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write('a')), 500);
        drip.unref();
        socks.push(s);
      }
      const nReaders = b.quick ? 10 : 30;
      for (let i = 0; i < nReaders; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
        s.once('data', () => s.pause()); // read the first chunk, then never again
        socks.push(s);
      }
      const summary = await runLoad({
        url: `${h.app.gatewayUrl}/x`,
        pattern: constantRate(40),
        durationMs: b.loadMs,
        maxRequests: 10_000,
        timeoutMs: 5000,
      });
      const growth = rssMiB() - rss0;
      const t = tally(summary);
      return {
        fault: this.name,
        expectation: this.expectation,
        happened: `${nLoris} slowloris sockets: ${closedBy408.length} closed with 408; ${nReaders} paused readers of 8 MiB; normal p99 ${summary.latencyMs.p99.toFixed(0)} ms; RSS +${growth.toFixed(1)} MiB`,
        ...t,
        recoverMs: null,
        pass:
          t.failed === 0 &&
          t.lost === 0 &&
          growth < 128 &&
          (b.loadMs < 2500 || closedBy408.length === nLoris),
      };
    } finally {
      for (const s of socks) s.destroy();
      await h.close();
      await good.close();
      await big.close();
    }
  },
};

/** Every fault, in table order. */
export const ALL_FAULTS: Fault[] = [
  instancesDie,
  instanceHangs,
  instanceSlow,
  instanceGarbage,
  instanceCuts,
  sigtermDuringLoad,
  kill9DuringLoad,
  storeFails,
  diskFullWhileRunning,
  metricSourceFails,
  providerCommandFails,
  wallClockJumps,
  overload,
  slowClients,
];

/** Runs faults one after another, never letting one fault's crash stop the table. */
export async function runFaults(
  faults: Fault[],
  budget: Budget,
  onRow?: (r: FaultResult) => void,
): Promise<FaultResult[]> {
  const rows: FaultResult[] = [];
  for (const f of faults) {
    const started = Date.now();
    let row: FaultResult;
    try {
      row = await f.run(budget);
    } catch (err) {
      row = {
        fault: f.name,
        expectation: f.expectation,
        happened: `harness error: ${(err as Error).message.split('\n')[0]}`,
        sent: 0,
        ok: 0,
        failed: 0,
        lost: 0,
        recoverMs: null,
        pass: false,
      };
    }
    (row as FaultResult & { ms?: number }).ms = Date.now() - started;
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

export type { Budget, FaultResult } from './fault-harness.js';
