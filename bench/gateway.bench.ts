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
 * The proxies run from gateway-child.ts, the processes and wrk from gateway-processes.ts.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from './ensure-built.js';
import type { AllocationReport } from './gateway-child.js';
import {
  askChild,
  cpuTicks,
  ensureTools,
  freePort,
  median,
  paced,
  processTree,
  round,
  startChild,
  startNginx,
  stop,
  waitHttp,
  wrk,
  wrkTogether,
} from './gateway-processes.js';
import type { Emit } from './run.js';

const DURATION_S = Number(process.env.BENCH_GATEWAY_SECONDS ?? 4);
/** Comma-separated phases to run after the sequential one (default all): paired, alloc, p99, workers. */
const PHASES = (process.env.BENCH_GATEWAY_PHASES ?? 'paired,alloc,p99,workers').split(',');
const HZ = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
/** Another build's dist/ to pair `luascale-lean` against (kind `luascale-lean-baseline`). */
const BASELINE = process.env.BENCH_GATEWAY_BASELINE;

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
