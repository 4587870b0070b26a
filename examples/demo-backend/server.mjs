#!/usr/bin/env node
// The luascale demo backend: a dependency-free HTTP app whose requests burn a configurable amount of
// CPU, so that load turns into CPU the autoscaler can see. Also used by the provider and gateway tests.
//
// Environment:
//   PORT            port to listen on (0 = any free port; the chosen one is printed)   default 0
//   HOST            address to bind                                                     default 127.0.0.1
//   BURN_MS         CPU milliseconds burned by GET / when no ?ms= is given              default 10
//                   (CPU time, not wall time: add &wall=1 to burn wall-clock time instead)
//   READY_DELAY_MS  /healthz answers 503 until this long after start                   default 0
//   UNHEALTHY=1     /healthz always answers 503
//   CRASH_AFTER_MS  exit(1) this long after start (crash tests)
//   EXIT_ON_START   exit immediately with this code (crash-loop tests)
//   IGNORE_SIGTERM=1  ignore SIGTERM (tests that SIGKILL follows after the grace period)
//   SPAWN_CHILD=1   start a long-lived child process in the same process group (group-kill tests);
//                   SPAWN_CHILD=stubborn: the child ignores SIGTERM
//   DRAIN_MS        on SIGTERM, wait for in-flight requests at most this long           default 10000
//
// Endpoints:
//   GET /healthz                  200 "ok" when healthy
//   GET / or /work?ms=N[&wall=1]  burn N ms of CPU time (or wall time), answer JSON {pid, burnedMs}
//   GET /slow?ms=N                answer after N ms without using CPU
//   GET /sse?events=N&interval=MS text/event-stream with N events, MS apart
//   GET /log?bytes=N              write N bytes to stdout (log rotation tests)
//   GET /exit?code=N              exit with code N after answering (crash tests)
//   GET /pid                      JSON {pid, ppid, child}
//   GET /sick                     make /healthz answer 503 from now on (health-check tests)
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';

const env = process.env;
const startedAt = Date.now();
const num = (v, d) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));

if (env.EXIT_ON_START !== undefined && env.EXIT_ON_START !== '') {
  process.stderr.write(`demo-backend: exiting on start with code ${env.EXIT_ON_START}\n`);
  process.exit(num(env.EXIT_ON_START, 1));
}

const burnDefault = num(env.BURN_MS, 10);
const readyDelay = num(env.READY_DELAY_MS, 0);
const drainMs = num(env.DRAIN_MS, 10_000);
let inFlight = 0;
let sick = env.UNHEALTHY === '1';
let childPending = false;
let closing = false;
let child;

/**
 * Spins until this process has used `ms` milliseconds of CPU time (process.cpuUsage), so a request
 * costs the same CPU however busy the machine is: an instance serves at most ~1000/ms requests per
 * second per core. `wall` burns wall-clock time instead (less CPU when the machine is contended).
 */
function burn(ms, wall = false) {
  const budget = Math.min(Math.max(ms, 0), 60_000);
  const startWall = performance.now();
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 2000; i++) x += Math.sqrt(x + i);
    if (wall) {
      if (performance.now() - startWall >= budget) break;
    } else {
      const used = process.cpuUsage(start);
      if ((used.user + used.system) / 1000 >= budget) break;
    }
  }
  return x;
}

function send(res, status, body, type = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  inFlight++;
  res.on('close', () => {
    inFlight--;
    if (closing && inFlight === 0) finish();
  });
  const url = new URL(req.url ?? '/', 'http://x');
  const q = (name, d) => num(url.searchParams.get(name) ?? undefined, d);
  switch (url.pathname) {
    case '/healthz': {
      const healthy = !sick && !closing && !childPending && Date.now() - startedAt >= readyDelay;
      return send(res, healthy ? 200 : 503, healthy ? 'ok\n' : 'not ready\n', 'text/plain');
    }
    case '/':
    case '/work': {
      const ms = q('ms', burnDefault);
      burn(ms, url.searchParams.get('wall') === '1');
      return send(res, 200, { pid: process.pid, burnedMs: ms });
    }
    case '/slow': {
      const ms = q('ms', 1000);
      const t = setTimeout(() => send(res, 200, { pid: process.pid, sleptMs: ms }), Math.min(ms, 600_000));
      res.on('close', () => clearTimeout(t));
      return;
    }
    case '/sse': {
      const events = q('events', 5);
      const interval = q('interval', 100);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const tick = () => {
        if (n >= events) return res.end();
        res.write(`id: ${n}\ndata: {"n":${n},"pid":${process.pid}}\n\n`);
        n++;
        timer = setTimeout(tick, interval);
      };
      let timer = setTimeout(tick, 0);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case '/log': {
      const bytes = Math.min(q('bytes', 100), 64 * 1024 * 1024);
      const line = 'x'.repeat(99) + '\n';
      let left = bytes;
      while (left > 0) {
        const chunk = left >= 100 ? line : line.slice(100 - left);
        process.stdout.write(chunk);
        left -= chunk.length;
      }
      return send(res, 200, { wrote: bytes });
    }
    case '/exit': {
      const code = q('code', 1);
      send(res, 200, { exiting: code });
      res.on('finish', () => process.exit(code));
      return;
    }
    case '/sick':
      sick = true;
      return send(res, 200, { sick: true });
    case '/pid':
      return send(res, 200, { pid: process.pid, ppid: process.ppid, child: child?.pid ?? null });
    default:
      return send(res, 404, { error: 'not found' });
  }
});

server.listen(num(env.PORT, 0), env.HOST || '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`demo-backend: pid ${process.pid} listening on http://${addr.address}:${addr.port}\n`);
});

if (env.SPAWN_CHILD === '1') {
  // Same process group as us (no detached): a group kill must take it too.
  child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
} else if (env.SPAWN_CHILD === 'stubborn') {
  // A worker that ignores SIGTERM: only the provider's SIGKILL to the group ends it. We are not
  // healthy until it has installed its handler (it says so on its stdout).
  childPending = true;
  child = spawn(
    process.execPath,
    [
      '-e',
      "process.on('SIGTERM', () => {}); process.stdout.write('ready\\n'); setInterval(() => {}, 1 << 30)",
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  child.stdout.once('data', () => {
    childPending = false;
    child.stdout.destroy();
  });
}

if (env.CRASH_AFTER_MS) setTimeout(() => process.exit(1), num(env.CRASH_AFTER_MS, 0)).unref();

function finish() {
  child?.kill('SIGTERM');
  process.exit(0);
}

process.on('SIGTERM', () => {
  if (env.IGNORE_SIGTERM === '1') {
    process.stderr.write('demo-backend: ignoring SIGTERM\n');
    return;
  }
  // Graceful: stop accepting, let in-flight requests finish, then exit.
  closing = true;
  server.close();
  server.closeIdleConnections?.();
  if (inFlight === 0) finish();
  setTimeout(finish, drainMs).unref();
});
