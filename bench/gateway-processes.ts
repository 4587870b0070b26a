/**
 * The processes of `npm run bench gateway` (gateway.bench.ts): nginx, the proxies under test
 * (gateway-child.ts), wrk runs (closed loop, paired, paced) and their parsing, CPU time read from
 * /proc, and the children's allocation probe.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Connections each wrk run keeps open (the 50). */
export const CONNECTIONS = 50;
const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function ensureTools(): void {
  const missing = ['nginx', 'wrk'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t}`]).status !== 0,
  );
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(', ')}: run \`flock /tmp/apt.lock apt-get install -y nginx-light wrk\``,
    );
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitHttp(port: number): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50)); // polling a child's readiness, bounded by `until`
  }
  throw new Error(`port ${port} did not answer 200 within 15 s`);
}

export function pinned(cpu: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', cpu, cmd, ...args]];
}

export function startNginx(
  dir: string,
  name: string,
  port: number,
  upstreamPort: number | undefined,
  cpu: string,
): ChildProcess {
  const conf = join(dir, `${name}.conf`);
  const location =
    upstreamPort === undefined
      ? `location / { return 200 "ok\\n"; }`
      : `location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }`;
  const upstream =
    upstreamPort === undefined ? '' : `upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; }`;
  writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; pid ${join(dir, name)}.pid;
error_log ${join(dir, name)}.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  ${upstream}
  server { listen 127.0.0.1:${port}; ${location} }
}
`,
  );
  const [cmd, args] = pinned(cpu, '/usr/sbin/nginx', ['-c', conf, '-p', dir, '-e', join(dir, `${name}.err`)]);
  return spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function startChild(
  kind: string,
  port: number,
  upstream: string,
  workers: number,
  cpu: string | undefined,
  ipc = false,
): ChildProcess {
  const [cmd, args] = pinned(cpu, process.execPath, [
    '--import',
    'tsx',
    CHILD,
    kind,
    String(port),
    upstream,
    String(workers),
  ]);
  return spawn(cmd, args, {
    stdio: ipc ? ['ignore', 'ignore', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

export function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // Cluster workers die with their primary's IPC channel.
}

function wrkArgs(
  port: number,
  seconds: number,
  cpu: string | undefined,
  connections = CONNECTIONS,
): [string, string[]] {
  return pinned(cpu, 'wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    `http://127.0.0.1:${port}/`,
  ]);
}

/** wrk run; returns req/s and p99 in ms. */
export function wrk(
  port: number,
  seconds: number,
  cpu: string | undefined,
): { rps: number; p99: number; requests: number } {
  const [cmd, args] = wrkArgs(port, seconds, cpu);
  return parseWrk(port, spawnSync(cmd, args, { timeout: (seconds + 30) * 1000 }).stdout.toString());
}

/** Several wrk runs at the same time (one per port). */
export async function wrkTogether(
  ports: number[],
  seconds: number,
  cpu: string | undefined,
): Promise<{ rps: number; p99: number; requests: number }[]> {
  return Promise.all(
    ports.map(
      (port) =>
        new Promise<{ rps: number; p99: number; requests: number }>((resolve, reject) => {
          const [cmd, args] = wrkArgs(port, seconds, cpu, CONNECTIONS / 2);
          const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
          let out = '';
          child.stdout!.on('data', (c: Buffer) => (out += c));
          child.on('close', () => {
            try {
              resolve(parseWrk(port, out));
            } catch (err) {
              reject(err as Error);
            }
          });
        }),
    ),
  );
}

export function parseWrk(port: number, out: string): { rps: number; p99: number; requests: number } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const p99m = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = p99m ? Number(p99m[1]) * (p99m[2] === 'us' ? 0.001 : p99m[2] === 's' ? 1000 : 1) : NaN;
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (!(rps > 0) || errors) throw new Error(`wrk against :${port} failed:\n${out}`);
  return { rps, p99, requests };
}

/**
 * Load at a fixed mean rate: wrk (C, pinned) with a per-connection think time drawn from an
 * exponential distribution, so the 50 connections together approximate Poisson arrivals at `rate`.
 * wrk times each request from its first byte written, so think time never counts as latency.
 * (autocannon's `overallRate` was used before: its own event loop added ~7 ms to p99 even straight
 * to nginx, which hid what the proxy adds.)
 */
export function paced(
  dir: string,
  port: number,
  seconds: number,
  rate: number,
  cpu: string | undefined,
): { rps: number; p99: number; requests: number } {
  const script = join(dir, `paced-${rate}.lua`);
  // Mean think time per connection so that CONNECTIONS connections offer `rate` req/s in total.
  const meanMs = (CONNECTIONS * 1000) / rate;
  writeFileSync(
    script,
    `math.randomseed(${port})
function delay() return math.floor(-math.log(1 - math.random()) * ${meanMs} + 0.5) end
`,
  );
  const [cmd, args] = pinned(cpu, 'wrk', [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--latency',
    '-s',
    script,
    `http://127.0.0.1:${port}/`,
  ]);
  return parseWrk(port, spawnSync(cmd, args, { timeout: (seconds + 30) * 1000 }).stdout.toString());
}

/** The pid and all its descendants (cluster workers). */
export function processTree(root: number): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === out[i] && !out.includes(Number(entry))) out.push(Number(entry));
      } catch {
        // the process exited meanwhile
      }
    }
  }
  return out;
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat) summed over pids, in clock ticks. */
export function cpuTicks(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return sum;
}

/** Sends `cmd` to a child's allocation probe and resolves with its answer. */
export function askChild(child: ChildProcess, cmd: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(new Error(`child exited before answering ${cmd}`)));
    child.send(cmd);
  });
}
