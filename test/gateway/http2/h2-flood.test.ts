/**
 * HTTP/2 protections: the advertised limits (max concurrent streams, header list size), and the
 * rapid-reset attack (CVE-2023-44487): a connection that opens and cancels streams past the limit
 * is sent GOAWAY ENHANCE_YOUR_CALM and its address is blocked (its new connections refused at
 * accept), while requests on another connection keep their p99. For that one the attacker and the
 * gateway each run in a process of their own (test/fixtures/), so the latency measured here is the
 * gateway's, not this event loop's; the attacker connects from 127.0.0.2, the normal client from
 * 127.0.0.1 (Linux routes all of 127/8 to lo).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { startGateway, startUpstream, type Upstream } from '../helpers.js';

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
/** How much the normal traffic's p99 may grow under the attack (see the assertion). */
const P99_SLACK_MS = 250;
/** The penalty after a flood in the gateway process (H2_FLOOD_BLOCK_MS=0: off, to see it fail). */
const BLOCK_MS = process.env.H2_FLOOD_BLOCK_MS ?? '10000';
const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

/** A GET on `client`; its latency counts from `due` (when it was meant to be sent). */
function get(
  client: http2.ClientHttp2Session,
  path: string,
  due = performance.now(),
): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const s = client.request({ ':path': path });
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('end', () => resolve({ status, ms: performance.now() - due }));
    // a stream closed without its end (refused, reset) is a failure: status 0
    s.on('close', () => resolve({ status: 0, ms: performance.now() - due }));
    s.on('error', reject);
    s.resume();
  });
}

/**
 * Open-loop traffic: `n` GETs, one due every `everyMs` whatever the answers do, each timed from
 * when it was due. A stalled gateway then delays every request due in the stall, not only the one
 * a closed loop would have had waiting (the "coordinated omission" of wrk2), so p99 sees stalls.
 */
async function openLoop(
  client: http2.ClientHttp2Session,
  prefix: string,
  options: { n: number; everyMs: number },
): Promise<{ ms: number[]; failed: number }> {
  const t0 = performance.now();
  const pending: Promise<{ status: number; ms: number }>[] = [];
  for (let k = 0; k < options.n; k++) {
    const due = t0 + k * options.everyMs;
    // the arrivals' pacing (the load's rate), not synchronisation
    if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
    pending.push(get(client, `/${prefix}${k}`, due));
  }
  const done = await Promise.all(pending);
  return { ms: done.map((r) => r.ms), failed: done.filter((r) => r.status !== 200).length };
}

/** A fixture process (through tsx) and its stdout as JSON lines. */
function fixtureProcess(
  name: string,
  args: string[],
): {
  child: ChildProcess;
  next: () => Promise<Record<string, unknown>>;
  rest: () => Promise<Record<string, unknown>[]>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(name), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    assert.equal(line.done, false, `${name} ended early`);
    return JSON.parse(line.value as string) as Record<string, unknown>;
  };
  const rest = async (): Promise<Record<string, unknown>[]> => {
    const out: Record<string, unknown>[] = [];
    for (let l = await lines.next(); l.done !== true; l = await lines.next())
      out.push(JSON.parse(l.value as string));
    return out;
  };
  return { child, next, rest };
}

function p99(ms: number[]): number {
  const s = [...ms].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!;
}

describe('HTTP/2 protections', () => {
  let up: Upstream;
  let gw: Gateway;
  let base: string;
  before(async () => {
    up = await startUpstream((_req, res) => res.end('ok'));
    ({ gw, base } = await startGateway({
      max_header_bytes: 8192,
      http2: {
        max_concurrent_streams: 64,
        guard: { resets: { max: 100, windowMs: 1000 }, pings: { max: 50, windowMs: 1000 } },
      },
      services: { api: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: up.url }] } },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    await up.close();
  });

  it('advertises max concurrent streams and the header list size', async () => {
    const c = http2.connect(base);
    await once(c, 'remoteSettings');
    assert.equal(c.remoteSettings.maxConcurrentStreams, 64);
    assert.equal(c.remoteSettings.maxHeaderListSize, 8192);
    c.close();
  });

  it('sends GOAWAY to a rapid-reset client and refuses its address; normal traffic keeps its p99', async () => {
    const gateway = fixtureProcess('h2-flood-gateway.ts', [BLOCK_MS]);
    let attacker: ReturnType<typeof fixtureProcess> | undefined;
    try {
      const { port } = (await gateway.next()) as { port: number };
      const url = `http://127.0.0.1:${port}`;
      const normal = http2.connect(url, {
        createConnection: () => net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' }),
      });
      for (let i = 0; i < 50; i++) await get(normal, `/w${i}`); // warm-up: JIT, upstream keep-alive
      // 100 requests a second for 6 s, before and during the attack (6 s: a single scheduling stall of
      // the loaded machine moves the p99 of 600 requests less than that of 300)
      const before = await openLoop(normal, 'b', { n: 600, everyMs: 10 });

      // Streams opened and cancelled as fast as it can, reconnecting after each GOAWAY, until its
      // stdin closes (bounded: 200 000 streams, 20 s).
      attacker = fixtureProcess('h2-rapid-reset.ts', [url, '200000', '20000', '127.0.0.2']);
      assert.deepEqual(await attacker.next(), { started: true });
      const during = await openLoop(normal, 'n', { n: 600, everyMs: 10 });
      attacker.child.stdin!.end();
      const lines = (await attacker.rest()) as {
        goaway?: number | null;
        streams: number;
        refused?: boolean;
        done?: boolean;
      }[];
      const ends = lines.filter((l) => l.done === undefined);
      const served = ends.filter((e) => e.refused !== true);
      const refusedSeen = ends.length - served.length;
      const total = lines.find((l) => l.done === true);
      assert.ok(
        total,
        `the attacker ended without its summary (exit ${attacker.child.exitCode}): ${JSON.stringify(lines)}`,
      );
      gateway.child.stdin!.end();
      const seen = (await gateway.next()) as {
        attacks: number;
        floods: { resets?: number };
        blocks: string[];
        refused: number;
      };
      await once(gateway.child, 'exit');
      normal.close();

      const [p99Before, p99During] = [p99(before.ms), p99(during.ms)];
      const perConnection = served.map((e) => e.streams).sort((x, y) => x - y);
      console.log(
        `# p99 before ${p99Before.toFixed(1)} ms, during the attack ${p99During.toFixed(1)} ms; ` +
          `attacker: ${total.streams} streams on ${served.length} connections served and ` +
          `${refusedSeen} refused (gateway: ${seen.refused} refused, blocks ${JSON.stringify(seen.blocks)}), ` +
          `streams sent before GOAWAY median ${perConnection[perConnection.length >> 1]} max ${perConnection.at(-1)}; ` +
          `${seen.attacks} reached the upstream`,
      );
      // (a) every attacking connection served is sent GOAWAY ENHANCE_YOUR_CALM (the last one may
      // instead be cut short by the end of the test), and the attack went on through the measurement
      assert.ok(ends.length >= 2, `the attacker reconnected ${ends.length - 1} times`);
      assert.equal(ends[0]!.goaway, NGHTTP2_ENHANCE_YOUR_CALM);
      assert.ok(
        served.slice(0, -1).every((e) => e.goaway === NGHTTP2_ENHANCE_YOUR_CALM),
        JSON.stringify(served),
      );
      assert.ok((seen.floods.resets ?? 0) >= served.length - 1, JSON.stringify(seen));
      // (a') its address is blocked once (10 s, longer than the attack) and its reconnections are
      // refused at accept: the attacker sees them closed before any SETTINGS, the gateway counts
      // them; only the connection that tripped the guard (and at most one more, if the attack
      // outlasted the block) was served
      assert.deepEqual(seen.blocks, ['127.0.0.2']);
      assert.ok(
        refusedSeen >= 1 && seen.refused >= refusedSeen,
        `${refusedSeen} refused, ${seen.refused} at the gateway`,
      );
      assert.ok(served.length <= 2, `${served.length} attacking connections served`);
      // few cancelled streams cost an upstream request (the previous test's bound, 300 of 1000;
      // 1.5 % at most measured: only a stream whose RST_STREAM comes in a later read is taken up)
      assert.ok(seen.attacks < 0.3 * total.streams, `${seen.attacks} attack streams reached the upstream`);
      // (b) no normal request failed
      assert.equal(before.failed, 0);
      assert.equal(during.failed, 0);
      // (c) their p99 holds within 250 ms of the p99 before (or twice it). On the shared 2-core
      // machine, loaded by other suites (load 8-16), the p99 before is 15-228 ms and during the
      // attack 34-233 ms (11 runs). With the guard alone (H2_FLOOD_BLOCK_MS=0) it is 0.29-1.6 s
      // during (7 runs, each failing this bound), the residue being the first read (up to 64 KiB,
      // up to ~2,000 streams) of each new attacking connection; with the block only the first
      // connection is read. Without the guard it is 14-22 s with failed requests.
      assert.ok(
        p99During <= Math.max(2 * p99Before, p99Before + P99_SLACK_MS),
        `p99 ${p99During.toFixed(1)} ms during the attack, ${p99Before.toFixed(1)} ms before`,
      );
    } finally {
      attacker?.child.kill('SIGKILL');
      gateway.child.kill('SIGKILL');
    }
  });

  it('closes a connection that floods PINGs', async () => {
    const c = http2.connect(base, { maxOutstandingPings: 100 });
    c.on('error', () => {});
    await once(c, 'connect');
    const goaway = new Promise<number>((resolve) => c.on('goaway', (code) => resolve(code)));
    for (let i = 0; i < 60 && !c.destroyed; i++) c.ping(() => {});
    assert.equal(await goaway, NGHTTP2_ENHANCE_YOUR_CALM);
  });
});
