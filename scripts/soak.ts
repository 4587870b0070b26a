/**
 * Soak: `npm run soak -- --minutes 30 [--rps 50] [--scale-every 30] [--sample 5]`.
 *
 * Runs `luascale up` (from the sources) as a child process with the demo backend, holds a steady
 * load through its gateway on loopback, and flips a manual override between 2 and 4 replicas every
 * `--scale-every` seconds (so instances launch, become ready, drain and stop all along). Every
 * `--sample` seconds it records the luascale process's RSS and open fds (from /proc/<pid>) and its
 * heap and event-loop lag p99 (prom-client default metrics on the admin /metrics).
 *
 * Goals (exit 1 if missed): sustained RSS growth < 10 % after the warm-up (the first fifth of the
 * run, at least 30 s): the lowest RSS of the last third of the samples against the highest of the
 * first third. A leak lifts even the lows at the end above the highs at the start; a heap that
 * has not yet run a major GC, or a young generation that grew under load, moves one sample and not
 * the whole third (end-vs-start of single samples swung from −23 % to +27 % between runs of the
 * same code). The JS heap's lows (what collections leave) must not grow by 10 % either. Open fds at the end ≤ fds after warm-up + 2 × instance churn
 * slack (no steady growth); every request answered 2xx (nothing lost).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { runLoad, constantRate, type LoadSummary } from '../src/loadgen/index.js';

/** Soak knobs. */
export interface SoakOptions {
  minutes: number;
  rps?: number;
  scaleEverySeconds?: number;
  sampleSeconds?: number;
  /** One line per sample as it is taken. */
  onSample?: (s: SoakSample) => void;
  /** Judge RSS (default true). Too short a run cannot tell a leak from the allocator settling. */
  rssGoal?: boolean;
  /** Largest allowed growth of the JS heap's lows after warm-up, % (default 10). */
  heapGoalPct?: number;
}

/** One sample of the luascale process. */
export interface SoakSample {
  t: number;
  rssMiB: number;
  heapMiB: number;
  fds: number;
  lagP99Ms: number;
  instances: number;
}

/** The soak's figures and verdict. */
export interface SoakReport {
  minutes: number;
  samples: SoakSample[];
  warmupS: number;
  rssAfterWarmupMiB: number;
  rssEndMiB: number;
  rssGrowthPct: number;
  /** Lowest RSS of the last third of the post-warm-up samples vs the highest of the first third, %. */
  rssSustainedGrowthPct: number;
  /** Lowest JS heap used of the last third vs the lowest of the first third, %. */
  heapLowGrowthPct: number;
  fdsAfterWarmup: number;
  fdsEnd: number;
  fdsMax: number;
  lagP99MaxMs: number;
  scaleFlips: number;
  load: Pick<
    LoadSummary,
    'sent' | 'ok' | 'errors' | 'dropped' | 'status503' | 'status429' | 'statuses' | 'errorKinds'
  > & { p99Ms: number };
  lost: number;
  pass: boolean;
  problems: string[];
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function procStatusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) : NaN;
}

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    let buf = '';
    const timer = setTimeout(
      () => fail(new Error(`luascale did not print ${re} within ${timeoutMs} ms:\n${buf}`)),
      timeoutMs,
    );
    const onData = (c: Buffer) => {
      buf += c;
      if (re.test(buf)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        done();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`luascale exited (${code}) before ${re}:\n${buf}`)));
  });
}

/** Runs the soak and returns its report (the CLI below prints it). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const durationMs = Math.round(options.minutes * 60_000);
  const rps = options.rps ?? 50;
  const scaleEvery = (options.scaleEverySeconds ?? 30) * 1000;
  const sampleEvery = (options.sampleSeconds ?? 5) * 1000;
  const warmupS = Math.max(30, Math.round(durationMs / 5000));
  const dir = mkdtempSync(join(tmpdir(), 'ls-soak-'));
  const [gPort, aPort] = [await freePort(), await freePort()];
  const cfg = join(dir, 'luascale.yaml');
  writeFileSync(
    cfg,
    `gateway: { listen: "127.0.0.1:${gPort}", access_log: "off", drain_timeout: 10s }
admin: { listen: "127.0.0.1:${aPort}" }
store: { sqlite: "${dir}/soak.db" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${resolve('examples/demo-backend/server.mjs')}"]
        env: { BURN_MS: "1" }
        log_dir: "${dir}/logs"
        stop_grace: 5s
    scaling: { min: 1, max: 4, interval: 1s, policy: { builtin: target-tracking, params: { metric: rps, target: 1000 } } }
`,
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/luascale-cli.ts', 'up', '-c', cfg],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.resume();
  const admin = `http://127.0.0.1:${aPort}`;
  const samples: SoakSample[] = [];
  let flips = 0;
  try {
    await waitForLine(child, /gateway on/, 30_000);
    const pid = child.pid!;
    const start = Date.now();
    const sample = async () => {
      const text = await (await request(`${admin}/metrics`)).body.text();
      const svc = (await (await request(`${admin}/v1/services/web`)).body.json()) as {
        replicas?: { ready?: number };
      };
      const s: SoakSample = {
        t: Math.round((Date.now() - start) / 1000),
        rssMiB: procStatusKiB(pid, 'VmRSS') / 1024,
        heapMiB: metricValue(text, 'nodejs_heap_size_used_bytes') / 1048576,
        fds: readdirSync(`/proc/${pid}/fd`).length,
        lagP99Ms: metricValue(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        instances: svc.replicas?.ready ?? 0,
      };
      samples.push(s);
      options.onSample?.(s);
    };
    const sampler = setInterval(() => void sample().catch(() => {}), sampleEvery);
    const scaler = setInterval(() => {
      flips++;
      void request(`${admin}/v1/services/web/scale`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ replicas: flips % 2 ? 4 : 2 }),
      })
        .then((r) => r.body.dump())
        .catch(() => {});
    }, scaleEvery);
    await sample();
    let summary: LoadSummary;
    try {
      summary = await runLoad({
        url: `http://127.0.0.1:${gPort}/work?ms=2`,
        pattern: constantRate(rps),
        durationMs,
        maxRequests: Math.ceil((rps * durationMs) / 1000) + 10,
        maxInFlight: 2000,
        timeoutMs: 30_000,
      });
    } finally {
      clearInterval(sampler);
      clearInterval(scaler);
    }
    await sample();
    const after = samples.filter((s) => s.t >= warmupS);
    const base = after[0] ?? samples[0]!;
    const end = samples[samples.length - 1]!;
    const answered = Object.values(summary.statuses).reduce((a, b) => a + b, 0);
    const lost = summary.sent - answered;
    const growth = ((end.rssMiB - base.rssMiB) / base.rssMiB) * 100;
    const third = Math.max(1, Math.floor(after.length / 3));
    const early = Math.max(...after.slice(0, third).map((s) => s.rssMiB));
    const late = Math.min(...after.slice(-third).map((s) => s.rssMiB));
    const sustained = after.length >= 3 ? ((late - early) / early) * 100 : growth;
    // The JS heap's lows are what is left after collections: a leak in JS lifts them.
    const heapEarly = Math.min(...after.slice(0, third).map((s) => s.heapMiB));
    const heapLate = Math.min(...after.slice(-third).map((s) => s.heapMiB));
    const heapGrowth = ((heapLate - heapEarly) / heapEarly) * 100;
    // Each ready instance holds a few sockets (keep-alive pool, health probe, log files): allow that.
    const fdSlack = 4 * Math.max(0, end.instances - base.instances) + 4;
    const problems: string[] = [];
    if (options.rssGoal !== false && !(sustained < 10))
      problems.push(`RSS grew ${sustained.toFixed(1)} % (sustained) after warm-up (goal < 10 %)`);
    const heapGoal = options.heapGoalPct ?? 10;
    if (!(heapGrowth < heapGoal))
      problems.push(`JS heap lows grew ${heapGrowth.toFixed(1)} % after warm-up (goal < ${heapGoal} %)`);
    if (end.fds > base.fds + fdSlack) problems.push(`open fds ${base.fds} → ${end.fds} (slack ${fdSlack})`);
    if (summary.ok !== summary.sent || lost > 0)
      problems.push(
        `${summary.sent - summary.ok} of ${summary.sent} requests not 2xx (${lost} lost): ${JSON.stringify(summary.errorKinds)}`,
      );
    return {
      minutes: options.minutes,
      samples,
      warmupS,
      rssAfterWarmupMiB: base.rssMiB,
      rssEndMiB: end.rssMiB,
      rssGrowthPct: growth,
      rssSustainedGrowthPct: sustained,
      heapLowGrowthPct: heapGrowth,
      fdsAfterWarmup: base.fds,
      fdsEnd: end.fds,
      fdsMax: Math.max(...samples.map((s) => s.fds)),
      // After warm-up: the start (loading tsx, the Lua VM, SQLite) lags once by design.
      lagP99MaxMs: Math.max(...after.map((s) => s.lagP99Ms).filter(Number.isFinite)),
      scaleFlips: flips,
      load: {
        sent: summary.sent,
        ok: summary.ok,
        errors: summary.errors,
        dropped: summary.dropped,
        status503: summary.status503,
        status429: summary.status429,
        statuses: summary.statuses,
        errorKinds: summary.errorKinds,
        p99Ms: summary.latencyMs.p99,
      },
      lost,
      pass: problems.length === 0,
      problems,
    };
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => (child.kill('SIGKILL'), r(null)), 15_000);
        child.once('exit', () => (clearTimeout(t), r(null)));
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as text: a sample table and the summary lines. */
export function formatSoak(r: SoakReport): string {
  const rows = r.samples.map(
    (s) =>
      `${String(s.t).padStart(6)} s  rss ${s.rssMiB.toFixed(1).padStart(6)} MiB  heap ${s.heapMiB.toFixed(1).padStart(6)} MiB  fds ${String(s.fds).padStart(4)}  lag p99 ${s.lagP99Ms.toFixed(1).padStart(6)} ms  ready ${s.instances}`,
  );
  return [
    ...rows,
    '',
    `soak ${r.minutes} min: ${r.load.sent} requests, ${r.load.ok} ok, ${r.load.sent - r.load.ok} not ok, ${r.lost} lost, p99 ${r.load.p99Ms.toFixed(1)} ms; ${r.scaleFlips} scale flips (2 ↔ 4)`,
    `RSS ${r.rssAfterWarmupMiB.toFixed(1)} MiB after ${r.warmupS} s warm-up → ${r.rssEndMiB.toFixed(1)} MiB at the end (${r.rssGrowthPct >= 0 ? '+' : ''}${r.rssGrowthPct.toFixed(1)} %); sustained (low of the last third vs high of the first) ${r.rssSustainedGrowthPct >= 0 ? '+' : ''}${r.rssSustainedGrowthPct.toFixed(1)} %; JS heap lows ${r.heapLowGrowthPct >= 0 ? '+' : ''}${r.heapLowGrowthPct.toFixed(1)} %`,
    `open fds ${r.fdsAfterWarmup} after warm-up → ${r.fdsEnd} at the end (max ${r.fdsMax}); event-loop lag p99 max ${r.lagP99MaxMs.toFixed(1)} ms after warm-up`,
    r.pass ? 'PASS' : `FAIL: ${r.problems.join('; ')}`,
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  const report = await runSoak({
    minutes: arg('minutes', 30),
    rps: arg('rps', 50),
    scaleEverySeconds: arg('scale-every', 30),
    sampleSeconds: arg('sample', 5),
    onSample: (s) =>
      process.stderr.write(
        `t=${s.t}s rss=${s.rssMiB.toFixed(1)}MiB heap=${s.heapMiB.toFixed(1)}MiB fds=${s.fds} lag_p99=${s.lagP99Ms.toFixed(1)}ms ready=${s.instances}\n`,
      ),
  });
  process.stdout.write(formatSoak(report) + '\n');
  process.exit(report.pass ? 0 : 1);
}
