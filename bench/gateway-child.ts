/**
 * A proxy under test in `npm run bench gateway`, in a process of its own:
 * `node --import tsx bench/gateway-child.ts <kind> <port> <upstream> [workers]`. Kinds: the raw
 * undici proxies (`raw-undici`, `raw-undici-lean`), node:http with the lean pool and no stage
 * (`raw-lean`), `http-proxy`, and the gateway (`luascale`, `luascale-lean`, `luascale-plain`,
 * `luascale-lean-baseline` from BENCH_GATEWAY_BASELINE's build). With an IPC channel it also
 * answers the allocation probe.
 */
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Another build's dist/ (kind `luascale-lean-baseline`). */
const BASELINE = process.env.BENCH_GATEWAY_BASELINE;

await runChild(process.argv[2]!, Number(process.argv[3]), process.argv[4]!, Number(process.argv[5] ?? 1));

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
export interface AllocationReport {
  allocatedBytes: number;
  scavenges: number;
  /** Summed scavenge pause, ms. */
  scavengeMs: number;
  markSweeps: number;
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
