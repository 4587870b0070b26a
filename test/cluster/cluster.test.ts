/**
 * The must-show: 3 gateway processes and 1 real redis-server. Measures the shared rate
 * limit's accuracy, kills the leader with SIGKILL (another takes over within the lease TTL, no
 * double scale-up), SIGKILLs Redis under load (traffic continues on local limits), restarts it on
 * the same port and watches everything recover on its own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { startRedis, type TestRedis } from './redis-server.js';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/cluster-gateway.ts');
const RPS = 10; // low enough that a loaded 2-core CI box still offers well over it
const LEASE_TTL_MS = 1500;

interface Child {
  id: string;
  proc: ChildProcess;
  url: string;
  lines: Array<Record<string, any>>;
  waiters: Array<{ pred: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }>;
}

let redis: TestRedis;
let dir: string;
const upstreams: Server[] = [];
const children: Child[] = [];
const agent = new Agent({ connections: 16, pipelining: 1 });

function waitLine(
  c: Child,
  pred: (l: Record<string, any>) => boolean,
  ms = 10_000,
  from = 0,
): Promise<Record<string, any>> {
  const hit = c.lines.slice(from).find(pred);
  if (hit) return Promise.resolve(hit);
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${c.id}: timed out waiting; last lines ${JSON.stringify(c.lines.slice(-5))}`)),
      ms,
    );
    c.waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
  });
}

async function spawnGateway(id: string, providerFile: string, urls: string[]): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      NODE_ID: id,
      PROVIDER_FILE: providerFile,
      UPSTREAMS: urls.join(','),
      RPS: String(RPS),
      LEASE_TTL_MS: String(LEASE_TTL_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const c: Child = { id, proc, url: '', lines: [], waiters: [] };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let l: Record<string, any>;
    try {
      l = JSON.parse(line);
    } catch {
      return;
    }
    c.lines.push(l);
    for (const w of [...c.waiters]) {
      if (!w.pred(l)) continue;
      c.waiters.splice(c.waiters.indexOf(w), 1);
      w.resolve(l);
    }
  });
  children.push(c);
  c.url = (await waitLine(c, (l) => l.event === 'listening', 20_000)).url;
  return c;
}

/** Offers load to every gateway with `workers` concurrent loops each until `ms` pass. */
async function load(
  gws: Child[],
  workers: number,
  ms: number,
): Promise<{ ok: number; limited: number; other: number; elapsedMs: number }> {
  const r = { ok: 0, limited: 0, other: 0, elapsedMs: 0 };
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    gws.flatMap((g) =>
      Array.from({ length: workers }, async () => {
        // bounded: at most 20 000 requests per loop, and the deadline
        for (let i = 0; i < 20_000 && performance.now() < end; i++) {
          try {
            const res = await request(`${g.url}/x`, { dispatcher: agent });
            await res.body.dump();
            if (res.statusCode === 200) r.ok++;
            else if (res.statusCode === 429) r.limited++;
            else r.other++;
          } catch {
            r.other++;
          }
        }
      }),
    ),
  );
  r.elapsedMs = performance.now() - t0;
  return r;
}

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'luascale-cluster-'));
  for (let i = 0; i < 2; i++) {
    const s = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    upstreams.push(s);
  }
});

after(async () => {
  for (const c of children)
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await agent.close();
  for (const s of upstreams) s.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('3 gateways + 1 redis-server: limit accuracy, leader failover, Redis outage and recovery', async () => {
  const providerFile = join(dir, 'instances.jsonl');
  const urls = upstreams.map((s) => `http://127.0.0.1:${(s.address() as { port: number }).port}`);
  const gws = await Promise.all(['gw1', 'gw2', 'gw3'].map((id) => spawnGateway(id, providerFile, urls)));
  // every gateway routes to the leader's 2 instances
  await Promise.all(gws.map((g) => waitLine(g, (l) => l.event === 'instances' && l.n === 2, 15_000)));
  const leaders = gws.filter((g) => g.lines.some((l) => l.event === 'leader' && l.held));
  assert.equal(leaders.length, 1, 'exactly one leader');
  const leader = leaders[0]!;

  // 1. accuracy: ~3× the limit offered across 3 gateways for 3 s
  const a = await load(gws, 8, 3000);
  const allowed = RPS + (RPS * a.elapsedMs) / 1000; // burst + rps × T
  const ratio = a.ok / allowed;
  console.log(
    `# cluster limit accuracy: admitted ${a.ok} of ${a.ok + a.limited} offered in ${a.elapsedMs.toFixed(0)} ms; ` +
      `allowed burst + rps×T = ${allowed.toFixed(0)}; admitted/allowed = ${ratio.toFixed(4)} (goal <= 1.02)`,
  );
  assert.equal(a.other, 0, 'no errors');
  assert.ok(a.limited > 0, 'the limit was reached');
  assert.ok(ratio <= 1.02, `over the limit: ${ratio}`);
  // a loose floor: on a loaded machine the first requests start late, so `allowed` over-counts
  assert.ok(a.ok >= Math.min(a.ok + a.limited, allowed) * 0.7, `far under the limit: ${ratio}`);

  // 2. signals merged across gateways: the leader's controller sees all 3 and the total rate
  // the controller reads a 10 s window: offered/10 is what the 3 gateways saw together
  const offered = a.ok + a.limited;
  const tick = await waitLine(leader, (l) => l.event === 'tick' && l.rps * 10 >= offered * 0.9, 5000);
  console.log(
    `# merged signals on the leader: ${(tick.rps * 10).toFixed(0)} requests in its 10 s window; the 3 gateways counted ${offered}`,
  );
  assert.ok(tick.rps * 10 <= offered + 1, 'no request counted twice');

  // 3. failover: kill -9 the leader; another takes over within the TTL; no double scale-up
  const launchesBefore = readFileSync(providerFile, 'utf8').trim().split('\n').length;
  assert.equal(launchesBefore, 2, 'the leader launched exactly 2');
  const rest = gws.filter((g) => g !== leader);
  const marks = rest.map((g) => g.lines.length);
  const killedAt = performance.now();
  leader.proc.kill('SIGKILL');
  const next = await Promise.race(
    rest.map((g, i) => waitLine(g, (l) => l.event === 'leader' && l.held, 10_000, marks[i]).then(() => g)),
  );
  const takeoverMs = performance.now() - killedAt;
  console.log(
    `# failover: ${next.id} took over ${takeoverMs.toFixed(0)} ms after kill -9 (lease TTL ${LEASE_TTL_MS} ms)`,
  );
  // the key expires at most one TTL after the kill; the follower retries right at its PTTL
  assert.ok(takeoverMs <= LEASE_TTL_MS + 500, `takeover took ${takeoverMs} ms`);
  // the new leader runs several ticks and launches nothing: the 2 instances are there
  const mark = next.lines.length;
  for (let i = 0; i < 3; i++) await waitLine(next, (l) => l.event === 'tick', 5000, next.lines.length);
  assert.equal(
    next.lines.slice(mark).filter((l) => l.event === 'scale').length,
    0,
    'no scale event after failover',
  );
  assert.equal(readFileSync(providerFile, 'utf8').trim().split('\n').length, 2, 'no double scale-up');

  // 4. Redis SIGKILLed under load: traffic continues on local limits, then recovers
  const during = load(rest, 4, 2500);
  await new Promise((r) => setTimeout(r, 500)); // load is running (a bounded offset, not a synchronisation)
  const closedMarks = rest.map((g) => g.lines.length);
  await redis.kill();
  await Promise.all(
    rest.map((g, i) =>
      waitLine(g, (l) => l.event === 'redis' && l.status === 'closed', 5000, closedMarks[i]),
    ),
  );
  const out = await during;
  console.log(
    `# Redis outage: ${out.ok} admitted, ${out.limited} limited, ${out.other} errors in ${out.elapsedMs.toFixed(0)} ms`,
  );
  assert.equal(out.other, 0, 'no request failed during the outage');
  assert.ok(out.ok > 0, 'traffic continued');
  // the instance set was kept: requests were proxied (200), not answered "no upstream" (503)

  const readyMarks = rest.map((g) => g.lines.length);
  await redis.restart();
  await Promise.all(
    rest.map((g, i) =>
      waitLine(g, (l) => l.event === 'redis' && l.status === 'ready', 10_000, readyMarks[i]),
    ),
  );
  // a leader again (the lease key died with Redis' memory) and still exactly 2 launches
  await Promise.race(
    rest.map((g, i) => waitLine(g, (l) => l.event === 'leader' && l.held, 10_000, readyMarks[i])),
  );
  const post = await load(rest, 4, 1500);
  const allowedPost = RPS + (RPS * post.elapsedMs) / 1000;
  console.log(
    `# after recovery: admitted ${post.ok}, allowed ${allowedPost.toFixed(0)}, ratio ${(post.ok / allowedPost).toFixed(4)}`,
  );
  assert.equal(post.other, 0);
  assert.ok(post.ok / allowedPost <= 1.02, `after recovery: ${post.ok / allowedPost}`);
  assert.equal(readFileSync(providerFile, 'utf8').trim().split('\n').length, 2, 'still no double scale-up');
});
