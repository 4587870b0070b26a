/**
 * Shared pieces of the fault suite: a running luascale built from a config string, misbehaving
 * upstreams on loopback, a bounded load, and the one-row-per-fault result the runner prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp, type AppOptions } from '../../src/app/luascale-app.js';
import type { AdminEvent } from '../../src/admin/admin-server.js';
import type { LoadSummary, TimelineSecond } from '../../src/loadgen/index.js';

/** Path of the demo backend every process-provider fault runs. */
export const backend = resolve('examples/demo-backend/server.mjs');

/** One row of the fault table. `pass` is whether `happened` meets `expectation`. */
export interface FaultResult {
  fault: string;
  expectation: string;
  happened: string;
  sent: number;
  ok: number;
  failed: number;
  lost: number;
  /** ms from the fault to the first good second afterwards (null: not applicable). */
  recoverMs: number | null;
  pass: boolean;
  skipped?: string;
}

/** How hard to push: CI uses `quick`, `npm run test:faults` the full budget. */
export interface Budget {
  quick: boolean;
  /** Load duration for one fault, ms. */
  loadMs: number;
}

/** A fault scenario. */
export interface Fault {
  name: string;
  expectation: string;
  run(budget: Budget): Promise<FaultResult>;
}

/** Counts of a load summary in the table's terms: failed = non-2xx answers, lost = no answer at all. */
export function tally(s: LoadSummary): Pick<FaultResult, 'sent' | 'ok' | 'failed' | 'lost'> {
  const answered = Object.values(s.statuses).reduce((a, b) => a + b, 0);
  return { sent: s.sent, ok: s.ok, failed: answered - s.ok, lost: s.sent - answered };
}

/** A started luascale plus its temp dir and recorded events. */
export interface Harness {
  app: LuascaleApp;
  dir: string;
  events: Array<AdminEvent & { t: number }>;
  logs: string[];
  close(): Promise<void>;
}

/** Starts luascale from YAML; `${DIR}` in the text becomes a fresh temp dir. */
export async function startHarness(yaml: string, options: AppOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ls-fault-'));
  const text = yaml.replaceAll('${DIR}', dir);
  const config = parseConfig(text, join(dir, 'luascale.yaml'));
  const events: Array<AdminEvent & { t: number }> = [];
  const logs: string[] = [];
  const app = await startApp(
    { config, file: join(dir, 'luascale.yaml'), baseDir: dir },
    { ...options, onEvent: (e) => events.push({ ...e, t: Date.now() }), log: (l) => logs.push(l) },
  );
  return {
    app,
    dir,
    events,
    logs,
    async close() {
      await app.close({ graceMs: 2000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `service` has `n` ready instances (event-driven, bounded by `timeoutMs`). */
export function readyCount(h: Harness, service: string, n: number, timeoutMs = 20_000): Promise<void> {
  const provider = h.app.providers.get(service)!;
  const count = () => provider.list().filter((i) => i.state === 'ready').length;
  return new Promise((done, fail) => {
    if (count() >= n) return done();
    const timer = setTimeout(
      () => (off(), fail(new Error(`${service}: ${count()}/${n} ready after ${timeoutMs} ms`))),
      timeoutMs,
    );
    const off = provider.on('ready', () => {
      if (count() >= n) {
        clearTimeout(timer);
        off();
        done();
      }
    });
  });
}

/** What a misbehaving upstream does with each request. */
export type UpstreamMode = 'ok' | 'hang' | 'slow' | 'garbage' | 'cut' | 'big';

/** A loopback upstream whose behaviour can change at runtime; `ok` answers 200 JSON. */
export interface FakeUpstream {
  url: string;
  mode: UpstreamMode;
  hits: number;
  close(): Promise<void>;
}

/** Starts a raw TCP upstream so it can send what node:http never would (garbage, cut bodies). */
export async function fakeUpstream(
  mode: UpstreamMode = 'ok',
  opts: { slowMs?: number; bigBytes?: number } = {},
): Promise<FakeUpstream> {
  const sockets = new Set<net.Socket>();
  const up: FakeUpstream = { url: '', mode, hits: 0, close: async () => {} };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      // One response per complete request head (the gateway sends bodiless GETs and health probes).
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        up.hits++;
        const probe = / \/healthz /.test(head.split('\r\n')[0] ?? '');
        answer(sock, probe && up.mode !== 'hang' ? 'ok' : up.mode);
      }
    });
  });
  function answer(sock: net.Socket, m: UpstreamMode): void {
    const body = '{"ok":true}';
    const okRes = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    if (m === 'ok') sock.write(okRes);
    else if (m === 'hang') return;
    else if (m === 'slow') setTimeout(() => !sock.destroyed && sock.write(okRes), opts.slowMs ?? 300).unref();
    else if (m === 'garbage') sock.end('HTTP/1.1 2x0 WHAT\r\n\x00\x01garbage\r\n\r\n');
    else if (m === 'cut') {
      sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\npartial');
      setImmediate(() => sock.destroy());
    } else if (m === 'big') {
      const n = opts.bigBytes ?? 8 << 20;
      sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${n}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 120);
      let left = n;
      const pump = () => {
        while (left > 0) {
          const c = chunk.subarray(0, Math.min(chunk.length, left));
          left -= c.length;
          if (!sock.write(c)) return void sock.once('drain', pump);
        }
      };
      pump();
    }
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return up;
}

/** A plain node:http upstream answering 200 to everything (a healthy peer). */
export async function okUpstream(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** ms from `afterS` to the first timeline second from which every second is clean (all 2xx); null if never. */
export function recoveredAfter(s: LoadSummary, afterS: number): number | null {
  const secs = s.timeline.filter((x) => x.t >= afterS);
  const clean = (x: TimelineSecond) => x.errors + x.status503 + x.status429 === 0;
  for (let i = 0; i < secs.length; i++) {
    if (secs.slice(i).every(clean)) return Math.max(0, (secs[i]!.t - afterS) * 1000);
  }
  return null;
}

/** Linux RSS of this process in MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / 1048576;
}

/** Formats results as a fixed-width table. */
export function formatTable(rows: FaultResult[]): string {
  const head = ['fault', 'expectation', 'what happened', 'sent', 'ok', 'failed', 'lost', 'recover', 'result'];
  const body = rows.map((r) => [
    r.fault,
    r.expectation,
    r.skipped ? `skipped: ${r.skipped}` : r.happened,
    String(r.sent),
    String(r.ok),
    String(r.failed),
    String(r.lost),
    r.recoverMs === null ? '-' : `${(r.recoverMs / 1000).toFixed(1)} s`,
    r.skipped ? 'SKIP' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = head.map((h, i) =>
    Math.min(i === 1 || i === 2 ? 70 : 40, Math.max(h.length, ...body.map((b) => b[i]!.length))),
  );
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (c.length > widths[i]! ? c : c.padEnd(widths[i]!))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join(
    '\n',
  );
}
