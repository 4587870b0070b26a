/**
 * HTTP/2 protections: the advertised limits (max concurrent streams, header list size), and the
 * rapid-reset attack (CVE-2023-44487): a connection that opens and cancels streams past the limit
 * is sent GOAWAY ENHANCE_YOUR_CALM, while requests on another connection keep their p99. For that
 * one the attacker and the gateway each run in a process of their own (test/fixtures/), so the
 * latency measured here is the gateway's, not this event loop's.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import { startGateway, startUpstream, type Upstream } from '../helpers.js';

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
/** How much the normal traffic's p99 may grow under the attack (see the assertion). */
const P99_SLACK_MS = 5000;
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

  it('sends GOAWAY to a rapid-reset client; normal traffic on another connection keeps its p99', async () => {
    const gateway = fixtureProcess('h2-flood-gateway.ts', []);
    let attacker: ReturnType<typeof fixtureProcess> | undefined;
    try {
      const { port } = (await gateway.next()) as { port: number };
      const url = `http://127.0.0.1:${port}`;
      const normal = http2.connect(url);
      for (let i = 0; i < 50; i++) await get(normal, `/w${i}`); // warm-up: JIT, upstream keep-alive
      // 100 requests a second for 3 s, before and during the attack
      const before = await openLoop(normal, 'b', { n: 300, everyMs: 10 });

      // Streams opened and cancelled as fast as it can, reconnecting after each GOAWAY, until its
      // stdin closes (bounded: 200 000 streams, 20 s).
      attacker = fixtureProcess('h2-rapid-reset.ts', [url, '200000', '20000']);
      assert.deepEqual(await attacker.next(), { started: true });
      const during = await openLoop(normal, 'n', { n: 300, everyMs: 10 });
      attacker.child.stdin!.end();
      const lines = (await attacker.rest()) as { goaway?: number | null; streams: number; done?: boolean }[];
      const ends = lines.filter((l) => l.done === undefined);
      const total = lines.find((l) => l.done === true)!;
      gateway.child.stdin!.end();
      const seen = (await gateway.next()) as { attacks: number; floods: { resets?: number } };
      await once(gateway.child, 'exit');
      normal.close();

      const [p99Before, p99During] = [p99(before.ms), p99(during.ms)];
      const perConnection = ends.map((e) => e.streams).sort((x, y) => x - y);
      console.log(
        `# p99 before ${p99Before.toFixed(1)} ms, during the attack ${p99During.toFixed(1)} ms; ` +
          `attacker: ${total.streams} streams on ${ends.length} connections, ` +
          `streams sent before GOAWAY median ${perConnection[perConnection.length >> 1]} max ${perConnection.at(-1)}; ` +
          `${seen.attacks} reached the upstream`,
      );
      // (a) every attacking connection is sent GOAWAY ENHANCE_YOUR_CALM (the last one may instead be
      // cut short by the end of the test), and the attack went on through the measurement
      assert.ok(ends.length >= 2, `the attacker reconnected ${ends.length - 1} times`);
      assert.equal(ends[0]!.goaway, NGHTTP2_ENHANCE_YOUR_CALM);
      assert.ok(
        ends.slice(0, -1).every((e) => e.goaway === NGHTTP2_ENHANCE_YOUR_CALM),
        JSON.stringify(ends),
      );
      assert.ok((seen.floods.resets ?? 0) >= ends.length - 1, JSON.stringify(seen));
      // few cancelled streams cost an upstream request (the previous test's bound, 300 of 1000;
      // 1.5 % at most measured: only a stream whose RST_STREAM comes in a later read is taken up)
      assert.ok(seen.attacks < 0.3 * total.streams, `${seen.attacks} attack streams reached the upstream`);
      // (b) no normal request failed
      assert.equal(before.failed, 0);
      assert.equal(during.failed, 0);
      // (c) their p99 holds within 5 s of the p99 before (or 3 times it). On the shared 2-core
      // machine, loaded by other suites, the p99 before is 15-360 ms and during the attack
      // 0.6-3.3 s, the residue being the first read of each new attacking connection; without the
      // guard it is 14-22 s with failed requests, with the previous guard (pipeline run for every
      // stream, session cut a turn later) 17-27 s: either breaks this bound.
      assert.ok(
        p99During <= Math.max(3 * p99Before, p99Before + P99_SLACK_MS),
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
