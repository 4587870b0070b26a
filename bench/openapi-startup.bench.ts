/**
 * `luascale up` with the largest shared OpenAPI document (../shared/openapi/, read in place, never
 * copied), with and without `validate_requests`: milliseconds from spawning the CLI to the first
 * answered request (and the CPU time used by then: wall time on a busy machine is mostly waiting), and
 * the process's RSS after ten requests. A config without a document is the
 * floor. Issue 16 item 12's goal, with validation on: ≤ 1500 ms and ≤ 180 MiB.
 * Each of the three configs starts RUNS times, interleaved, and every figure is the median of its
 * runs: this machine is shared, so one start says little.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { shared } from '../test/helpers/shared.js';
import { ensureBuilt } from './ensure-built.js';
import type { Emit } from './run.js';

const root = resolve(import.meta.dirname, '..');
const RUNS = 3;
const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);

/** The largest document under ../shared/openapi/. */
function largestDocument(): string {
  const dir = shared('openapi');
  const docs = readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(dir, f));
  return docs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}

/** CPU time (user + system) the process has used: less at the mercy of a busy machine than wall time. */
function cpuMs(pid: number): number {
  // /proc/PID/stat fields 14 and 15 (utime, stime) in clock ticks, 100 per second on Linux.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Each figure's median over the runs (status: the last run's). */
function median(runs: Array<{ firstAnswerMs: number; cpuMs: number; rssMiB: number; status: number }>) {
  const mid = <T>(xs: T[], f: (x: T) => number) => xs.map(f).sort((a, b) => a - b)[xs.length >> 1]!;
  return {
    firstAnswerMs: mid(runs, (r) => r.firstAnswerMs),
    cpuMs: mid(runs, (r) => r.cpuMs),
    rssMiB: mid(runs, (r) => r.rssMiB),
    status: runs[runs.length - 1]!.status,
  };
}

/** Spawns `luascale up`, waits for the first answer to `path`, sends nine more, reads RSS, stops. */
async function startup(
  dir: string,
  yaml: string,
  path: string,
): Promise<{ firstAnswerMs: number; cpuMs: number; rssMiB: number; status: number }> {
  const file = join(dir, 'luascale.yaml');
  writeFileSync(file, yaml);
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/luascale.js'), 'up', '-c', file], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  try {
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /gateway on (http:\/\/\S+),/.exec(out);
        if (m) ok(m[1]!);
      });
      child.once('exit', (code) => fail(new Error(`luascale up exited ${code}: ${stderr}`)));
    });
    let status = 0;
    let firstAnswerMs = 0;
    let cpu = 0;
    for (let i = 0; i < 10; i++) {
      const r = await request(url + path, { headers: { 'content-type': 'application/json' } });
      await r.body.dump();
      if (i === 0) {
        firstAnswerMs = performance.now() - t0;
        cpu = cpuMs(child.pid!);
        status = r.statusCode;
      }
    }
    return { firstAnswerMs, cpuMs: cpu, rssMiB: rssMiB(child.pid!), status };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

export default async function (emit: Emit): Promise<void> {
  ensureBuilt('cli/main.js', 'openapi-startup');
  const doc = largestDocument();
  const upstream = createServer((_req, res) => res.end('{}'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'ls-bench-oas-'));
  const config = (service: string) => `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/bench.db" }
services:
  api:
${service}
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
  // twilio's document (the largest shared one today) has this GET; another document would 404 it,
  // which still times the start-up.
  const path = `/2010-04-01/Accounts/${ACCOUNT}/Addresses.json`;
  const configs = {
    bare: config('    routes: [{ path_prefix: / }]'),
    off: config(`    openapi: ${JSON.stringify(doc)}`),
    on: config(`    openapi: ${JSON.stringify(doc)}\n    validate_requests: true`),
  };
  type Run = Awaited<ReturnType<typeof startup>>;
  const runs: Record<keyof typeof configs, Run[]> = { bare: [], off: [], on: [] };
  try {
    for (let i = 0; i < RUNS; i++)
      for (const k of ['bare', 'off', 'on'] as const) runs[k].push(await startup(dir, configs[k], path));
    const [bare, off, on] = [median(runs.bare), median(runs.off), median(runs.on)];
    emit({
      name: 'openapi.startup.first_answer_ms',
      value: Math.round(on.firstAnswerMs),
      unit: 'ms',
      document: doc.split('/').pop(),
      document_bytes: statSync(doc).size,
      cpu_ms: on.cpuMs,
      rss_mib: Math.round(on.rssMiB),
      status: on.status,
      runs: RUNS,
      without_validation_ms: Math.round(off.firstAnswerMs),
      without_validation_cpu_ms: off.cpuMs,
      without_validation_rss_mib: Math.round(off.rssMiB),
      without_document_ms: Math.round(bare.firstAnswerMs),
      without_document_cpu_ms: bare.cpuMs,
      without_document_rss_mib: Math.round(bare.rssMiB),
    });
  } finally {
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
