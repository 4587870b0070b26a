/**
 * `npm run bench llm`: what the AI gateway's front door adds to a stream, against calling llm-sim
 * directly, side by side in one run (issue 19: goal ≤ 1 ms added TTFT at p99; published figures
 * for other gateways run from 0.44 ms to 4.34 ms).
 *
 * - llm-sim runs as its own process (the compiled CLI) with a constant TTFT (20 ms), 6 ms between
 *   tokens and 60 tokens per answer (4 with max_tokens 4), and room for every stream (no
 *   queueing), so its own times are the same in both arms.
 * - The gateway (compiled, dist/) runs in this process with one AI service whose model's backend
 *   is that llm-sim as the service's instance, and the store's SQLite usage ledger (one row per
 *   stream, written on the same event loop, as in `luascale up`); the clients (undici, 100 concurrent streams) run
 *   in a third process, the same for both arms.
 * - TTFT: from sending the request to the first body chunk (llm-sim writes the role and the first
 *   token together). Added = via − direct, at p50 and p99, three ways:
 *   - `llm.ttft_added_p*` (the figure): 100 concurrent streams in steady state. The
 *     loader's 100 workers start spread evenly over one stream's length (380 ms), each first
 *     stream a ramp that is not measured, so the 1,000 measured 60-token streams each start with
 *     ~99 others in flight at spread-out phases, as real traffic's arrivals are.
 *   - `llm.ttft_added_burst_p*`: the same streams with all 100 workers started at once. Every
 *     stream being the same length, they stay in waves of 100 arriving in the same instant, so
 *     this measures the admission of 100 simultaneous requests (the last of each wave waits for
 *     the 99 before it), not steady streaming. Printed so that nothing is hidden.
 *   - `llm.ttft_added_sequential_p*`: 200 streams one at a time (the front door's own latency
 *     when CPU is not the bottleneck).
 *   On a loaded shared machine the concurrent figures are mostly CPU starvation of the three
 *   processes; each line carries the machine's load average.
 * - CPU per relayed chunk: the gateway process's CPU time, long streams minus short ones (the
 *   same number of streams, staggered: the per-request work cancels), over the extra events
 *   relayed. CPU per request: the gateway's CPU per short stream, ramp streams included (minus
 *   its idle CPU in the direct arm). The path measured is the
 *   metering one: the client does not ask for usage; the front door asks llm-sim and strips it.
 * - The machine is shared and its load drifts, so the arms run interleaved in rounds (direct, via,
 *   pipe, direct, via, pipe, ...), the same requests in each, and each arm's figures pool its rounds.
 * - The floor: the same streams through a plain TCP pipe in this process (node's net, socket to
 *   socket, no HTTP), in the same rounds: what any node proxy pays per chunk on this machine (a
 *   read and a write), printed next to the gateway's CPU per chunk, and the TTFT the pipe adds
 *   at 100 streams (`floor_tcp_pipe_added`) next to the gateway's: on a 2-core machine that also
 *   runs the loader and llm-sim, a third busy process adds CPU wait that is not the front door's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import type { Emit } from './run.js';
import { ensureBuilt } from './ensure-built.js';

const ROOT = resolve(import.meta.dirname, '..');
const STREAMS = 1000;
const WARMUP = 200;
const SEQUENTIAL = 200;
const CONCURRENCY = 100;
/** Rounds each arm is split into, interleaved with the other arm's. */
const ROUNDS = 4;
/** llm-sim's time to first token and inter-token latency (constant: no queueing at --max-seqs 1000). */
const SIM_TTFT_MS = 20;
const SIM_ITL_MS = 6;
const body = (maxTokens: number) =>
  JSON.stringify({
    model: 'm',
    messages: [{ role: 'user', content: 'Tell me a story about the sea' }],
    stream: true,
    max_tokens: maxTokens,
  });

async function startSim(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      'bin/luascale.js',
      'llm-sim',
      '--port',
      '0',
      '--model',
      'm',
      '--ttft',
      `${SIM_TTFT_MS}ms`,
      '--itl',
      `${SIM_ITL_MS}ms`,
      '--output-tokens',
      '60',
      '--max-seqs',
      '1000',
      '--kv-blocks',
      '100000',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const m = /http:\/\/[\d.]+:\d+/.exec(out);
    if (m) return { url: m[0], child };
  }
  throw new Error(`llm-sim did not start: ${out}`);
}

interface Arm {
  /** TTFT of each measured stream (ms). */
  ttft: number[];
  /** SSE events received (all streams, the ramp's too). */
  events: number;
  /** Streams run (measured and ramp). */
  streams: number;
  /** CPU of this (the gateway's) process while the arm ran (user + system). */
  cpuUs: number;
  userUs: number;
}

/**
 * The load generator: its own process, so the gateway's event loop and CPU are its own. `conc`
 * workers, each running streams one after another until `n` are measured. With `stagger` (ms),
 * worker i starts at i × stagger / conc and its first stream is the ramp (run, not measured), so
 * every measured stream starts with the others in flight at spread-out phases, as real arrivals
 * are. With stagger 0 all workers start at once and, every stream being the same length, stay in
 * waves of `conc` simultaneous arrivals (the burst figure; every stream measured).
 */
const LOADER = `
import { Pool } from 'undici';
const [url, n, conc, body, stagger] = JSON.parse(process.argv[1]);
const pool = new Pool(url, { connections: conc });
const ttft = [];
let events = 0;
let streams = 0;
let next = 0;
async function stream(measured) {
  streams++;
  const t0 = performance.now();
  const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body });
  let first = true;
  for await (const chunk of res.body) {
    if (first && measured) ttft.push(performance.now() - t0);
    first = false;
    events += String(chunk).split('\\n\\n').length - 1;
  }
}
async function one(i) {
  if (stagger > 0) {
    await new Promise((r) => setTimeout(r, (i * stagger) / conc));
    await stream(false);
  }
  while (next < n) {
    next++;
    await stream(true);
  }
}
await Promise.all(Array.from({ length: conc }, (_, i) => one(i)));
await pool.close();
process.stdout.write(JSON.stringify({ ttft, events, streams }));
`;

/** How the loader's workers start: staggered over one stream (steady state), or all at once (burst). */
type Arrivals = 'staggered' | 'burst';

interface RunOptions {
  maxTokens: number;
  concurrency?: number;
  /** Default staggered (a concurrency of 1 has nothing to stagger). */
  arrivals?: Arrivals;
}

/** One stream's length at llm-sim's settings below (TTFT + max_tokens × ITL), in ms. */
const streamMs = (maxTokens: number) => SIM_TTFT_MS + maxTokens * SIM_ITL_MS;

/** \`n\` measured streams at \`CONCURRENCY\` to \`url\` from the loader process: TTFTs, events, this process's CPU. */
async function run(url: string, n: number, o: RunOptions): Promise<Arm> {
  const cpu0 = process.cpuUsage();
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      LOADER,
      JSON.stringify([
        url,
        n,
        o.concurrency ?? CONCURRENCY,
        body(o.maxTokens),
        o.arrivals === 'burst' || o.concurrency === 1 ? 0 : streamMs(o.maxTokens),
      ]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += String(c)));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`loader exited ${code}`);
  const cpu = process.cpuUsage(cpu0);
  const r = JSON.parse(out) as { ttft: number[]; events: number; streams: number };
  return { ...r, cpuUs: cpu.user + cpu.system, userUs: cpu.user };
}

/** Each of `urls` gets `n` streams, in `ROUNDS` interleaved rounds; one pooled Arm per url. */
async function interleaved(urls: string[], n: number, o: RunOptions): Promise<Arm[]> {
  const arms: Arm[] = urls.map(() => ({ ttft: [], events: 0, streams: 0, cpuUs: 0, userUs: 0 }));
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, url] of urls.entries()) {
      const a = await run(url, n / ROUNDS, o);
      const arm = arms[i]!;
      arm.ttft.push(...a.ttft);
      arm.events += a.events;
      arm.streams += a.streams;
      arm.cpuUs += a.cpuUs;
      arm.userUs += a.userUs;
    }
  return arms;
}

/** A plain TCP pipe to `target` (the floor: what any node proxy pays per chunk). */
async function tcpPipe(target: string): Promise<{ url: string; server: Server }> {
  const t = new URL(target);
  const server = createServer((client) => {
    const up = connect(Number(t.port), t.hostname);
    client.setNoDelay(true);
    up.setNoDelay(true);
    client.pipe(up).on('error', () => client.destroy());
    up.pipe(client).on('error', () => up.destroy());
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, server };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** The bench. */
export default async function llmBench(emit: Emit): Promise<void> {
  ensureBuilt('llm/front-door/llm-stage.js', 'llm bench');
  const dist = (p: string) => import(resolve(ROOT, 'dist', p));
  const { createGateway } = await dist('gateway/gateway.js');
  const { createLlmModels, createLlmStage, llmErrorBody } = await dist('llm/front-door/index.js');
  const { stagesWithLlm } = await dist('app/llm-wiring.js');
  const sim = await startSim();
  const built = createLlmModels({
    m: {
      backends: [{ instances: { format: 'openai' } }],
      ttftMs: 10_000,
      interTokenMs: 10_000,
      maxTokensDefault: 64,
    },
  });
  // The ledger is the store's own (SQLite, WAL, in a temporary directory), as `luascale up` has it:
  // its commits and checkpoints run on the event loop the streams share.
  const storeDir = mkdtempSync(join(tmpdir(), 'luascale-llm-bench-'));
  const { openStore } = await dist('store/index.js');
  const store = openStore({ file: join(storeDir, 'luascale.db') });
  let rows = 0;
  const stage = createLlmStage({
    services: new Map([['ai', { models: built.models }]]),
    ledger: {
      append: (row: unknown) => {
        rows++;
        return store.usage.append(row);
      },
    },
  });
  const gw = createGateway({
    services: {
      ai: {
        routes: [{ path_prefix: '/' }],
        traffic: { max_body: 1 << 20, request_buffer: 1 << 20 },
        upstream: { connections: 256 },
        instances: [{ id: 'sim', url: sim.url }],
        errorBody: llmErrorBody,
      },
    },
    stages: stagesWithLlm(stage),
  });
  const addr = await gw.listen(0, '127.0.0.1');
  const direct = sim.url;
  const via = `http://127.0.0.1:${addr.port}`;
  const pipe = await tcpPipe(sim.url);
  try {
    await run(direct, WARMUP, { maxTokens: 60 });
    await run(via, WARMUP, { maxTokens: 60 });
    await run(pipe.url, WARMUP, { maxTokens: 60 });
    // Steady state: 100 streams in flight, arrivals spread over a stream's length (the must-show figure).
    // The TCP pipe (the floor) runs in the same rounds: what any proxy in front adds on this machine.
    const [d, v, p] = await interleaved([direct, via, pipe.url], STREAMS, { maxTokens: 60 });
    const [ds, vs, ps] = await interleaved([direct, via, pipe.url], STREAMS, { maxTokens: 4 });
    // Burst: the same streams with all 100 workers started at once (waves of 100 simultaneous arrivals).
    const [db, vb] = await interleaved([direct, via], STREAMS, { maxTokens: 60, arrivals: 'burst' });
    // One stream at a time: what the front door adds when the machine is not the bottleneck.
    const [d1, v1] = await interleaved([direct, via], SEQUENTIAL, { maxTokens: 4, concurrency: 1 });
    if (rows < 3 * STREAMS) throw new Error(`only ${rows} ledger rows`);
    const load = { load_average: round(loadavg()[0]!, 1), cpus: cpus().length };
    for (const q of [50, 99])
      emit({
        name: `llm.ttft_added_sequential_p${q}`,
        value: round(pct(v1.ttft, q) - pct(d1.ttft, q)),
        unit: 'ms',
        direct: round(pct(d1.ttft, q)),
        via_luascale: round(pct(v1.ttft, q)),
        streams: SEQUENTIAL,
        concurrency: 1,
        ...load,
      });
    const concurrent = (name: string, a: { d: Arm; v: Arm; pipe?: Arm; arrivals: string }) => {
      for (const q of [50, 99]) {
        const dp = pct(a.d.ttft, q);
        const vp = pct(a.v.ttft, q);
        const floor = a.pipe === undefined ? {} : { floor_tcp_pipe_added: round(pct(a.pipe.ttft, q) - dp) };
        emit({
          name: `${name}_p${q}`,
          value: round(vp - dp),
          unit: 'ms',
          direct: round(dp),
          via_luascale: round(vp),
          ...floor,
          streams: STREAMS,
          concurrency: CONCURRENCY,
          arrivals: a.arrivals,
          ...load,
        });
      }
    };
    concurrent('llm.ttft_added', {
      d,
      v,
      pipe: p,
      arrivals: `staggered: worker i starts at i/${CONCURRENCY} of a stream (${streamMs(60)} ms), ramp not measured`,
    });
    concurrent('llm.ttft_added_burst', {
      d: db,
      v: vb,
      arrivals: `burst: all ${CONCURRENCY} workers at once, equal streams arrive in waves of ${CONCURRENCY}`,
    });
    // This process only runs the gateway during the via arms (the direct arms' CPU is its idle noise).
    // Long and short runs have the same streams (measured and ramp), so the per-request work cancels.
    const idle = d.cpuUs - ds.cpuUs;
    const perChunk = (v.cpuUs - vs.cpuUs - idle) / (v.events - vs.events);
    const perChunkUser = (v.userUs - vs.userUs - (d.userUs - ds.userUs)) / (v.events - vs.events);
    const floor = (p.cpuUs - ps.cpuUs - idle) / (p.events - ps.events);
    emit({
      name: 'llm.cpu_per_relayed_chunk',
      value: round(perChunk, 2),
      unit: 'us',
      user: round(perChunkUser, 2),
      floor_tcp_pipe: round(floor, 2),
      events_long: v.events,
      events_short: vs.events,
      path: 'passthrough, usage asked for and stripped',
      ...load,
    });
    const perRequest = (vs.cpuUs - ds.cpuUs) / vs.streams;
    emit({
      name: 'llm.cpu_per_request',
      value: round(perRequest, 1),
      unit: 'us',
      // The short stream's own relayed events (role, tokens, finish, [DONE]) at the per-chunk cost.
      without_its_chunks: round(perRequest - (perChunk * vs.events) / vs.streams, 1),
      streams: vs.streams,
      path: 'gateway CPU per 4-token stream (parse, validate, pick, relay, ledger row)',
      ...load,
    });
  } finally {
    pipe.server.close();
    await gw.close({ graceMs: 0 });
    await built.close();
    sim.child.kill();
    await once(sim.child, 'exit');
    await store.close();
    rmSync(storeDir, { recursive: true, force: true });
  }
}
