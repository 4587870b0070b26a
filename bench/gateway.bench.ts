/**
 * `npm run bench gateway`: proxies side by side in one run against one nginx `return 200` upstream.
 *
 * Layout on this 2-core machine: the upstream nginx and the load generator (wrk) share core 0;
 * each proxy under test runs alone on core 1 (taskset), one after another, so each gets one core:
 *   - luascale gateway (signals + a permissive rate limit on, as in production), on undici
 *     (`luascale`) and on the lean HTTP/1.1 client (`luascale-lean`, `upstream.client: lean`);
 *   - a minimal raw undici `Pool.stream` proxy (the floor for any undici-based proxy), twice: streaming
 *     the request as its body (`raw-undici`) and with no body for unframed requests (`raw-undici-lean`);
 *   - the floor for a gateway on node:http and the lean client (`raw-lean`): node:http in front, the
 *     lean pool behind, the response head passed through as the upstream sent it, no stage at all
 *     (paired with `luascale-lean`: what the pipeline costs; with raw undici: the best any
 *     node:http gateway on this client can reach);
 *   - node `http-proxy` with a keep-alive agent;
 *   - nginx as a proxy (upstream keepalive on).
 * wrk: 50 connections, 1 thread, a short warm-up then a few seconds measured. Then:
 *   - p99 added latency at half of the gateway's max load (wrk with exponential think times: about
 *     Poisson arrivals at a fixed mean rate; gateway vs direct to nginx);
 *   - CPU time per request with `workers: 2` vs `workers: 1`, summed over every gateway process
 *     (primary included) from /proc/<pid>/stat utime+stime, at the same load per worker (and, for
 *     reference, at the same total load and at saturation).
 *   - paired runs: ours and a peer on the same core at the same time (robust to outside load);
 *   - allocations per request (ours and the lean raw undici proxy in the same run): each child,
 *     asked over IPC, runs v8's GCProfiler across one wrk run and reports the bytes allocated on
 *     V8's heap (heap used before each GC minus after the previous one), scavenges and their cost;
 *     Buffer backing stores (external memory) are not counted;
 *   - with BENCH_GATEWAY_BASELINE=<a dist/ directory of another build> (e.g. a copy of `dist/` made
 *     before a change, next to a `node_modules` link): `luascale-lean` paired on one core with the
 *     same gateway from that build, the before/after figure that outside load does not skew.
 * Per-round ratios (each round runs every kind once, in turn) are printed with the best-round ones,
 * and the load average at the start and the end of the run.
 * The same file is the child entry: `node --import tsx bench/gateway.bench.ts child <kind> <port> <upstream> [workers]`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBuilt } from './ensure-built.js';
import type { Emit } from './run.js';

const self = fileURLToPath(import.meta.url);
const DURATION_S = Number(process.env.BENCH_GATEWAY_SECONDS ?? 4);
const CONNECTIONS = 50;
/** Comma-separated phases to run after the sequential one (default all): paired, alloc, p99, workers. */
const PHASES = (process.env.BENCH_GATEWAY_PHASES ?? 'paired,alloc,p99,workers').split(',');
const HZ = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
/** Another build's dist/ to pair `luascale-lean` against (kind `luascale-lean-baseline`). */
const BASELINE = process.env.BENCH_GATEWAY_BASELINE;

if (process.argv[2] === 'child') {
  await runChild(process.argv[3]!, Number(process.argv[4]), process.argv[5]!, Number(process.argv[6] ?? 1));
}

/** The bench entry (see module comment). */
export default async function gatewayBench(emit: Emit): Promise<void> {
  ensureTools();
  ensureBuilt('gateway/gateway.js', 'bench gateway');
  const twoCores = cpus().length >= 2;
  const loadCpu = '0';
  const proxyCpu = twoCores ? '1' : '0';
  const dir = mkdtempSync(join(tmpdir(), 'luascale-bench-gw-'));
  const children: ChildProcess[] = [];
  const loadAtStart = loadavg().map(round);
  try {
    const upstreamPort = await freePort();
    children.push(startNginx(dir, 'upstream', upstreamPort, undefined, loadCpu));
    await waitHttp(upstreamPort);
    const upstream = `http://127.0.0.1:${upstreamPort}`;

    // Two interleaved rounds; each kind keeps its best round (the machine is shared: the best
    // round is the one least disturbed by others). CPU µs per request is read from /proc for the
    // proxy's process tree, which contention inflates far less than it deflates req/s.
    const results: Record<string, { rps: number; p99: number; cpuUs: number; busy: number }> = {};
    // Every round's own figures too: a ratio within one round compares runs seconds apart.
    const perRound: Record<string, { rps: number; cpuUs: number }>[] = [];
    const rounds = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 2);
    for (let round = 0; round < rounds; round++) {
      perRound.push({});
      for (const kind of [
        'luascale',
        'luascale-lean',
        'raw-undici',
        'raw-undici-lean',
        'http-proxy',
        'nginx',
      ] as const) {
        const port = await freePort();
        const child =
          kind === 'nginx'
            ? startNginx(dir, 'proxy', port, upstreamPort, proxyCpu)
            : startChild(kind, port, upstream, 1, proxyCpu);
        children.push(child);
        await waitHttp(port);
        wrk(port, 1, loadCpu); // warm-up (JIT, connection pools)
        const pids = processTree(child.pid!);
        const before = cpuTicks(pids);
        const r = wrk(port, DURATION_S, loadCpu);
        const cpuUs = ((cpuTicks(pids) - before) / HZ / (r.rps * DURATION_S)) * 1e6;
        perRound[round]![kind] = { rps: r.rps, cpuUs };
        // The share of its core the proxy kept busy: well under 1, the load generator or the
        // upstream (core 0, shared with outside load) set the pace, not the proxy.
        const busy = (cpuUs * r.rps) / 1e6;
        const prev = results[kind];
        if (prev === undefined || r.rps > prev.rps)
          results[kind] = { ...r, busy, cpuUs: prev ? Math.min(prev.cpuUs, cpuUs) : cpuUs };
        else prev.cpuUs = Math.min(prev.cpuUs, cpuUs);
        stop(child);
      }
    }
    const ours = results['luascale']!;
    for (const [kind, r] of Object.entries(results)) {
      emit({
        name: `gateway.${kind}.rps`,
        value: Math.round(r.rps),
        unit: 'req/s',
        p99_ms: r.p99,
        cpu_us_per_req: round(r.cpuUs),
        core_busy: round(r.busy),
      });
    }
    emit({
      name: 'gateway.cpu_per_request_vs_raw_undici',
      value: round(ours.cpuUs / results['raw-undici']!.cpuUs),
      unit: 'x',
      note: 'CPU µs per request, ours / raw undici (lower is better; 1/0.9 = 1.11 matches the req/s goal)',
    });
    emit({
      name: 'gateway.ratio_vs_raw_undici',
      value: round(ours.rps / results['raw-undici']!.rps),
      unit: 'x',
      goal: '>= 0.9',
      luascale_rps: Math.round(ours.rps),
      raw_undici_rps: Math.round(results['raw-undici']!.rps),
    });
    emit({
      name: 'gateway.ratio_vs_raw_undici_lean',
      value: round(ours.rps / results['raw-undici-lean']!.rps),
      unit: 'x',
      goal: '>= 0.9 (stricter baseline)',
      raw_undici_lean_rps: Math.round(results['raw-undici-lean']!.rps),
    });
    const lean = results['luascale-lean']!;
    const roundRatios = (a: string, b: string, of: 'rps' | 'cpuUs' = 'rps'): number[] =>
      perRound.map((r) => round(r[a]![of] / r[b]![of]));
    emit({
      name: 'gateway.lean.ratio_vs_raw_undici',
      value: round(lean.rps / results['raw-undici']!.rps),
      unit: 'x',
      goal: '>= 1.6',
      rounds: roundRatios('luascale-lean', 'raw-undici'),
      cpu_ratio_rounds: roundRatios('raw-undici', 'luascale-lean', 'cpuUs'),
      cpu_us_per_req_raw_undici: round(results['raw-undici']!.cpuUs),
      note: 'a req/s ratio holds only when both proxies kept their core busy (core_busy near 1)',
      luascale_lean_rps: Math.round(lean.rps),
      luascale_undici_rps: Math.round(ours.rps),
      lean_vs_undici_client: round(lean.rps / ours.rps),
      cpu_us_per_req_lean: round(lean.cpuUs),
      cpu_us_per_req_undici: round(ours.cpuUs),
    });
    emit({
      name: 'gateway.lean.ratio_vs_nginx_proxy',
      value: round(lean.rps / results['nginx']!.rps),
      unit: 'x',
      goal: '>= 0.35',
      rounds: roundRatios('luascale-lean', 'nginx'),
      nginx_proxy_rps: Math.round(results['nginx']!.rps),
    });
    emit({
      name: 'gateway.ratio_vs_http_proxy',
      value: round(ours.rps / results['http-proxy']!.rps),
      unit: 'x',
      goal: '>= 2',
      http_proxy_rps: Math.round(results['http-proxy']!.rps),
    });
    emit({
      name: 'gateway.ratio_vs_nginx_proxy',
      value: round(ours.rps / results['nginx']!.rps),
      unit: 'x',
      nginx_proxy_rps: Math.round(results['nginx']!.rps),
    });

    // Paired runs: ours and one peer on the SAME core at the same time, each under its own wrk.
    // The scheduler splits the core between the two busy processes, so the req/s ratio is the
    // inverse ratio of CPU per request, and load from outside the bench hits both alike.
    // `luascale-lean` (the lean upstream client) is paired with raw undici and with `luascale`.
    const pairs: (readonly [string, string])[] = [
      ['luascale', 'raw-undici'],
      ['luascale', 'raw-undici-lean'],
      ['luascale', 'http-proxy'],
      ['luascale-lean', 'raw-undici'],
      ['luascale-lean', 'luascale'],
      ['luascale-lean', 'raw-lean'],
      ['raw-lean', 'raw-undici'],
    ];
    if (BASELINE !== undefined) pairs.push(['luascale-lean', 'luascale-lean-baseline']);
    for (const [mine, peer] of PHASES.includes('paired') ? pairs : []) {
      const ratios: number[] = [];
      const cpu: { mine: number[]; peer: number[] } = { mine: [], peer: [] };
      for (let r = 0; r < Math.max(3, rounds); r++) {
        const pOurs = await freePort();
        const pPeer = await freePort();
        const a = startChild(mine, pOurs, upstream, 1, proxyCpu);
        const b = startChild(peer, pPeer, upstream, 1, proxyCpu);
        children.push(a, b);
        await waitHttp(pOurs);
        await waitHttp(pPeer);
        await wrkTogether([pOurs, pPeer], 1, loadCpu);
        const [ta, tb] = [processTree(a.pid!), processTree(b.pid!)];
        const [ca, cb] = [cpuTicks(ta), cpuTicks(tb)];
        const [ro, rp] = await wrkTogether([pOurs, pPeer], DURATION_S, loadCpu);
        ratios.push(ro!.rps / rp!.rps);
        cpu.mine.push(round(((cpuTicks(ta) - ca) / HZ / ro!.requests) * 1e6));
        cpu.peer.push(round(((cpuTicks(tb) - cb) / HZ / rp!.requests) * 1e6));
        stop(a);
        stop(b);
      }
      ratios.sort((x, y) => x - y);
      emit({
        name: `gateway.${mine === 'luascale' ? '' : mine === 'luascale-lean' ? 'lean.' : mine + '.'}paired_ratio_vs_${peer.replaceAll('-', '_')}`,
        value: round(ratios[Math.floor(ratios.length / 2)]!),
        unit: 'x',
        goal:
          mine !== 'luascale'
            ? peer === 'raw-undici' && mine === 'luascale-lean'
              ? '>= 1.6'
              : ''
            : peer === 'http-proxy'
              ? '>= 2'
              : '>= 0.9',
        rounds: ratios.map(round),
        cpu_us_per_req: median(cpu.mine),
        peer_cpu_us_per_req: median(cpu.peer),
        // The req/s ratio equals the inverse CPU ratio only while both proxies keep the core busy;
        // when the load generator and upstream (the other core, shared with outside load) cannot
        // keep up, the leaner proxy idles and the req/s ratio is squeezed towards 1.
        cpu_ratio: median(cpu.peer.map((p, i) => round(p / cpu.mine[i]!))),
        cpu_ratio_rounds: cpu.peer.map((p, i) => round(p / cpu.mine[i]!)),
        note: 'both proxies on one core at once; cpu_ratio: peer CPU µs per request / ours',
      });
    }

    // Allocations per request: the same wrk load through ours and through the lean raw undici
    // proxy, each measured inside the proxy by v8's GCProfiler (young-generation scavenges set the
    // gateway's p99, so bytes per request is the figure the hot path is tuned on).
    if (PHASES.includes('alloc')) {
      const alloc: Record<string, AllocationReport & { requests: number }> = {};
      for (let r = 0; r < rounds; r++) {
        for (const kind of ['luascale', 'luascale-lean', 'raw-undici-lean'] as const) {
          const port = await freePort();
          const child = startChild(kind, port, upstream, 1, proxyCpu, true);
          children.push(child);
          await waitHttp(port);
          wrk(port, 1, loadCpu);
          await askChild(child, 'alloc-start');
          const w = wrk(port, DURATION_S, loadCpu);
          const report = (await askChild(child, 'alloc-stop')) as AllocationReport;
          stop(child);
          const perReq = report.allocatedBytes / w.requests;
          const prev = alloc[kind];
          if (prev === undefined || perReq < prev.allocatedBytes / prev.requests)
            alloc[kind] = { ...report, requests: w.requests };
        }
      }
      const per = (k: string): number => alloc[k]!.allocatedBytes / alloc[k]!.requests;
      emit({
        name: 'gateway.allocations_per_request',
        value: Math.round(per('luascale')),
        unit: 'bytes',
        raw_undici_lean_bytes: Math.round(per('raw-undici-lean')),
        ratio_vs_raw_undici_lean: round(per('luascale') / per('raw-undici-lean')),
        requests: alloc['luascale']!.requests,
        scavenges: alloc['luascale']!.scavenges,
        scavenges_per_1k_requests: round((alloc['luascale']!.scavenges / alloc['luascale']!.requests) * 1000),
        scavenge_ms_mean: round(alloc['luascale']!.scavengeMs / Math.max(1, alloc['luascale']!.scavenges)),
        raw_undici_lean_scavenges_per_1k_requests: round(
          (alloc['raw-undici-lean']!.scavenges / alloc['raw-undici-lean']!.requests) * 1000,
        ),
        note: 'v8 GCProfiler inside each proxy over one wrk run (heap used before each GC minus after the previous)',
      });
      emit({
        name: 'gateway.lean.allocations_per_request',
        value: Math.round(per('luascale-lean')),
        unit: 'bytes',
        undici_client_bytes: Math.round(per('luascale')),
        ratio_vs_undici_client: round(per('luascale-lean') / per('luascale')),
        scavenges_per_1k_requests: round(
          (alloc['luascale-lean']!.scavenges / alloc['luascale-lean']!.requests) * 1000,
        ),
      });
    }

    // p99 added latency at half of max load: the same paced rate through the gateway, through the
    // lean raw undici proxy (what node + undici alone add), and direct, interleaved over rounds so
    // a noisy moment hits one round; the median of the per-round differences is reported.
    if (PHASES.includes('p99')) {
      const rate = Math.max(100, Math.floor(ours.rps / 2));
      const pOurs = await freePort();
      const pRaw = await freePort();
      const pLean = await freePort();
      const a = startChild('luascale', pOurs, upstream, 1, proxyCpu);
      const b = startChild('raw-undici-lean', pRaw, upstream, 1, proxyCpu);
      const c = startChild('luascale-lean', pLean, upstream, 1, proxyCpu);
      children.push(a, b, c);
      await waitHttp(pOurs);
      await waitHttp(pRaw);
      await waitHttp(pLean);
      paced(dir, pOurs, 1, rate, loadCpu);
      paced(dir, pRaw, 1, rate, loadCpu);
      // The lean client at half of its own max load (and direct at that rate for its baseline).
      const rateLean = Math.max(100, Math.floor(lean.rps / 2));
      paced(dir, pLean, 1, rateLean, loadCpu);
      const added: { ours: number[]; raw: number[]; lean: number[]; via: number[]; direct: number[] } = {
        ours: [],
        raw: [],
        lean: [],
        via: [],
        direct: [],
      };
      let achieved = 0;
      for (let r = 0; r < Math.max(3, rounds); r++) {
        const via = paced(dir, pOurs, DURATION_S, rate, loadCpu);
        const raw = paced(dir, pRaw, DURATION_S, rate, loadCpu);
        const viaLean = paced(dir, pLean, DURATION_S, rateLean, loadCpu);
        const direct = paced(dir, upstreamPort, DURATION_S, rate, loadCpu);
        const directLean = paced(dir, upstreamPort, DURATION_S, rateLean, loadCpu);
        added.ours.push(round(via.p99 - direct.p99));
        added.lean.push(round(viaLean.p99 - directLean.p99));
        added.raw.push(round(raw.p99 - direct.p99));
        added.via.push(round(via.p99));
        added.direct.push(round(direct.p99));
        achieved = Math.max(achieved, via.rps);
      }
      stop(a);
      stop(b);
      stop(c);
      emit({
        name: 'gateway.lean.p99_added_latency_at_half_load',
        value: median(added.lean),
        unit: 'ms',
        goal: '<= 1',
        rate_rps: rateLean,
        rounds: added.lean,
      });
      emit({
        name: 'gateway.p99_added_latency_at_half_load',
        value: median(added.ours),
        unit: 'ms',
        goal: '<= 1',
        rate_rps: rate,
        achieved_rps_via_gateway: Math.round(achieved),
        rounds: added.ours,
        raw_undici_lean_added_ms: median(added.raw),
        raw_undici_lean_rounds: added.raw,
        p99_via_gateway_ms: added.via,
        p99_direct_ms: added.direct,
      });
    }

    // CPU per request, workers 2 vs 1, summed over every gateway process (primary included), both
    // unpinned. An event loop's CPU per request falls as its load rises (more requests per
    // wake-up), so the comparison that isolates what sharing the listener costs gives each worker
    // the load the single process had: 2 workers at rate R (R/2 each) against 1 at R/2. Also
    // printed: the same total R for both (each of the 2 then runs at a quarter of capacity), and
    // saturation under the same closed-loop wrk.
    if (PHASES.includes('workers')) {
      const rate = Math.max(100, Math.floor(ours.rps / 2));
      const paced1: Record<number, number> = {};
      const sat: Record<number, number> = {};
      let w1AtHalfRate = 0;
      for (const workers of [1, 2]) {
        const port = await freePort();
        const child = startChild('luascale', port, upstream, workers, undefined);
        children.push(child);
        await waitHttp(port);
        wrk(port, 1, undefined);
        const pids = processTree(child.pid!);
        const cpuPerReq = (run: () => { requests: number }): number => {
          const before = cpuTicks(pids);
          const r = run();
          return ((cpuTicks(pids) - before) / HZ / r.requests) * 1e6; // µs per request
        };
        paced1[workers] = cpuPerReq(() => paced(dir, port, DURATION_S, rate, loadCpu));
        if (workers === 1) w1AtHalfRate = cpuPerReq(() => paced(dir, port, DURATION_S, rate / 2, loadCpu));
        sat[workers] = cpuPerReq(() => {
          const w = wrk(port, DURATION_S, loadCpu);
          return { requests: w.rps * DURATION_S };
        });
        stop(child);
      }
      emit({
        name: 'gateway.cpu_per_request_workers2_vs_1',
        value: round(paced1[2]! / w1AtHalfRate),
        unit: 'x',
        goal: '<= 1.1',
        note: 'same load per worker: 2 workers at rate_rps vs 1 at rate_rps/2',
        rate_rps: rate,
        workers2_us: round(paced1[2]!),
        workers1_at_half_rate_us: round(w1AtHalfRate),
        same_total_rate_ratio: round(paced1[2]! / paced1[1]!),
        workers1_at_rate_us: round(paced1[1]!),
        saturation_ratio: round(sat[2]! / sat[1]!),
        at_saturation_workers1_us: round(sat[1]!),
        at_saturation_workers2_us: round(sat[2]!),
      });
    }
    emit({
      name: 'gateway.load_average',
      value: round(loadavg()[0]!),
      unit: '1-min',
      at_start: loadAtStart,
      at_end: loadavg().map(round),
      cpus: cpus().length,
      note: 'others on this shared machine: compare paired ratios, not absolute req/s, across runs',
    });
  } finally {
    for (const c of children) stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function ensureTools(): void {
  const missing = ['nginx', 'wrk'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t}`]).status !== 0,
  );
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(', ')}: run \`flock /tmp/apt.lock apt-get install -y nginx-light wrk\``,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(port: number): Promise<void> {
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

function pinned(cpu: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', cpu, cmd, ...args]];
}

function startNginx(
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

function startChild(
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
    self,
    'child',
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

function stop(child: ChildProcess): void {
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
function wrk(
  port: number,
  seconds: number,
  cpu: string | undefined,
): { rps: number; p99: number; requests: number } {
  const [cmd, args] = wrkArgs(port, seconds, cpu);
  return parseWrk(port, spawnSync(cmd, args, { timeout: (seconds + 30) * 1000 }).stdout.toString());
}

/** Several wrk runs at the same time (one per port). */
async function wrkTogether(
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

function parseWrk(port: number, out: string): { rps: number; p99: number; requests: number } {
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
function paced(
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
function processTree(root: number): number[] {
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
function cpuTicks(pids: number[]): number {
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

async function runChild(kind: string, port: number, upstream: string, workers: number): Promise<void> {
  // A clean exit on SIGINT lets `node --cpu-prof` write its profile when profiling a child by hand.
  process.once('SIGINT', () => process.exit(0));
  if (process.send !== undefined) serveAllocationProbe();
  if (kind === 'raw-undici' || kind === 'raw-undici-lean') {
    const { Pool } = await import('undici');
    const pool = new Pool(upstream, { connections: 64, pipelining: 1 });
    // `lean` passes no body when the request has none (no Content-Length or Transfer-Encoding):
    // undici then skips its stream-body machinery, which costs ~15 % of CPU per GET here.
    const lean = kind === 'raw-undici-lean';
    http
      .createServer((req, res) => {
        const framed =
          req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
        pool.stream(
          {
            path: req.url!,
            method: req.method as 'GET',
            headers: req.headers as Record<string, string>,
            body: lean && !framed ? null : req,
          },
          ({ statusCode, headers }) => {
            res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
            return res;
          },
          (err) => {
            if (err) res.destroy();
          },
        );
      })
      .listen(port, '127.0.0.1');
    return;
  }
  if (kind === 'raw-lean') {
    const leanPool = '../dist/gateway/lean/lean-pool.js'; // the compiled build, as for the gateway
    const { LeanPool } = (await import(leanPool)) as typeof import('../src/gateway/lean/lean-pool.js');
    const u = new URL(upstream);
    const pool = new LeanPool({ host: u.hostname, port: Number(u.port), connections: 64 });
    http
      .createServer((req, res) => {
        const framed =
          req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
        pool.dispatch(
          {
            path: req.url!,
            method: req.method as 'GET',
            headers: req.rawHeaders,
            body: framed ? req : null,
          },
          {
            onConnect() {},
            onHeaders(status: number, headers: Buffer[]) {
              res.writeHead(status, headers as unknown as string[]);
              return true;
            },
            onData: (chunk: Buffer) => res.write(chunk),
            onComplete: () => res.end(),
            onError: () => res.destroy(),
          } as unknown as import('undici').Dispatcher.DispatchHandler,
        );
      })
      .listen(port, '127.0.0.1');
    return;
  }
  if (kind === 'http-proxy') {
    const { default: httpProxy } = await import('http-proxy');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const proxy = httpProxy.createProxyServer({ target: upstream, agent });
    proxy.on('error', (_e, _req, res) => (res as http.ServerResponse).destroy());
    http.createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1');
    return;
  }
  // The compiled build, as `luascale up` runs it (tsx's transform adds per-call helpers), or the
  // baseline build the current one is paired against.
  const dist =
    kind === 'luascale-lean-baseline'
      ? pathToFileURL(join(BASELINE!, 'gateway/index.js')).href
      : '../dist/gateway/index.js';
  const { startGateway } = (await import(dist)) as typeof import('../src/gateway/index.js');
  // `luascale-plain` (for profiling by hand): no signals, no admission limits.
  const plain = kind === 'luascale-plain';
  const upstreamClient = kind.startsWith('luascale-lean') ? 'lean' : 'undici';
  await startGateway({
    listen: { port, host: '127.0.0.1' },
    workers,
    metrics: !plain,
    services: {
      bench: {
        routes: [{ path_prefix: '/' }],
        traffic: plain
          ? {}
          : {
              rate_limit: { rps: 1e9, burst: 1e9, key: 'ip' },
              concurrency: { per_instance: 100_000, adaptive: false },
              queue: { max: 1000, timeout: 1000 },
            },
        upstream: { client: upstreamClient },
        instances: [{ id: 'nginx', url: upstream }],
      },
    },
  });
}

/** What a child's allocation probe reports for the span between 'alloc-start' and 'alloc-stop'. */
interface AllocationReport {
  allocatedBytes: number;
  scavenges: number;
  /** Summed scavenge pause, ms. */
  scavengeMs: number;
  markSweeps: number;
}

/** Sends `cmd` to a child's allocation probe and resolves with its answer. */
function askChild(child: ChildProcess, cmd: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(new Error(`child exited before answering ${cmd}`)));
    child.send(cmd);
  });
}

/**
 * In a child started with an IPC channel: 'alloc-start' starts v8's GCProfiler, 'alloc-stop' stops
 * it and answers an AllocationReport. Bytes allocated = for each GC, heap used before it minus heap
 * used after the previous one (or at the start), plus the growth since the last GC.
 */
function serveAllocationProbe(): void {
  let profiler: import('node:v8').GCProfiler | undefined;
  let startUsed = 0;
  process.on('message', async (cmd: string) => {
    const v8 = await import('node:v8');
    if (cmd === 'alloc-start') {
      startUsed = v8.getHeapStatistics().used_heap_size;
      profiler = new v8.GCProfiler();
      profiler.start();
      process.send!('started');
      return;
    }
    if (cmd !== 'alloc-stop' || profiler === undefined) return;
    const stats = profiler.stop()?.statistics ?? [];
    const endUsed = v8.getHeapStatistics().used_heap_size;
    let allocatedBytes = 0;
    let after = startUsed;
    let scavenges = 0;
    let scavengeUs = 0;
    let markSweeps = 0;
    for (const s of stats) {
      allocatedBytes += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - after);
      after = s.afterGC.heapStatistics.usedHeapSize;
      if (s.gcType === 'Scavenge') {
        scavenges++;
        scavengeUs += s.cost;
      } else if (s.gcType === 'MarkSweepCompact') markSweeps++;
    }
    allocatedBytes += Math.max(0, endUsed - after);
    const report: AllocationReport = { allocatedBytes, scavenges, scavengeMs: scavengeUs / 1000, markSweeps };
    process.send!(report);
  });
}
