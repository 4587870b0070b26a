import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad, type TimelineSecond } from '../../src/loadgen/load-generator.js';
import { constantRate, parsePattern } from '../../src/loadgen/rate-pattern.js';
import { formatProgress, formatSummary, formatTimeline } from '../../src/loadgen/format-report.js';

let server: Server;
let base: string;
let cycle = 0;

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/cycle') {
      // 200, 429, 503, 500, then a connection reset, over and over.
      const n = cycle++ % 5;
      if (n === 4) return req.socket.destroy();
      res.writeHead([200, 429, 503, 500][n]!).end('x');
      return;
    }
    if (url.pathname === '/hold') {
      const t = setTimeout(() => res.end('late'), Number(url.searchParams.get('ms')));
      res.on('close', () => clearTimeout(t));
      return;
    }
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const sum = (t: TimelineSecond[], k: keyof TimelineSecond) => t.reduce((a, s) => a + (s[k] as number), 0);

describe('runLoad', () => {
  it('sends exactly round(rate × duration) requests at a constant rate, open loop', async () => {
    const s = await runLoad({ url: `${base}/`, pattern: constantRate(200), durationMs: 1000 });
    assert.equal(s.sent, 200);
    assert.equal(s.ok, 200);
    assert.equal(s.errors + s.status429 + s.status503 + s.dropped, 0);
    assert.equal(s.stoppedBy, 'duration');
    assert.ok(s.offeredRps > 150 && s.offeredRps < 250, `offered ${s.offeredRps}`);
    assert.ok(
      s.latencyMs.p50 > 0 && s.latencyMs.p50 <= s.latencyMs.p95 && s.latencyMs.p95 <= s.latencyMs.p99,
    );
    assert.equal(sum(s.timeline, 'sent'), 200);
    assert.equal(sum(s.timeline, 'ok'), 200);
  });

  it('classifies ok, 429, 503, other statuses and network errors', async () => {
    cycle = 0;
    const s = await runLoad({
      url: `${base}/cycle`,
      pattern: constantRate(500),
      durationMs: 100,
      connections: 1,
    });
    assert.equal(s.sent, 50);
    assert.equal(s.ok + s.status429 + s.status503 + s.errors, 50, 'every sent request has one outcome');
    assert.deepEqual([s.ok, s.status429, s.status503], [10, 10, 10]);
    assert.equal(s.errors, 20);
    assert.equal(s.errorKinds['HTTP 500'], 10);
    const network = Object.entries(s.errorKinds)
      .filter(([k]) => k !== 'HTTP 500')
      .reduce((a, [, n]) => a + n, 0);
    assert.equal(network, 10);
    assert.deepEqual(s.statuses, { 200: 10, 429: 10, 503: 10, 500: 10 });
  });

  it('stops at max requests before the duration', async () => {
    const t0 = performance.now();
    const s = await runLoad({
      url: `${base}/`,
      pattern: constantRate(1000),
      durationMs: 10_000,
      maxRequests: 50,
    });
    assert.equal(s.sent, 50);
    assert.equal(s.stoppedBy, 'max-requests');
    assert.ok(performance.now() - t0 < 5000);
  });

  it('drops arrivals beyond max in-flight instead of queueing them, and waits for the outstanding ones', async () => {
    const s = await runLoad({
      url: `${base}/hold?ms=600`,
      pattern: constantRate(200),
      durationMs: 500,
      maxInFlight: 5,
    });
    assert.equal(s.sent, 5);
    assert.equal(s.dropped, 95);
    assert.equal(s.ok, 5);
    assert.equal(s.maxInFlightSeen, 5);
    assert.ok(s.latencyMs.p50 >= 600, `p50 ${s.latencyMs.p50}`);
    assert.ok(s.elapsedMs >= 600);
  });

  it('follows a step pattern second by second in the timeline', async () => {
    const seconds: number[] = [];
    const s = await runLoad({
      url: `${base}/`,
      pattern: parsePattern('step:20,60@1s'),
      durationMs: 2000,
      onSecond: (x) => seconds.push(x.t),
    });
    assert.equal(s.sent, 80);
    const [first, second] = s.timeline as [TimelineSecond, TimelineSecond];
    assert.equal(first.targetRps, 20);
    assert.equal(second.targetRps, 60);
    // Timers on a busy machine may push a few requests across a second boundary.
    assert.ok(Math.abs(first.sent - 20) <= 3, `second 0 sent ${first.sent}`);
    assert.ok(Math.abs(second.sent - 60) <= 3, `second 1 sent ${second.sent}`);
    assert.deepEqual(
      seconds,
      s.timeline.map((x) => x.t),
    );
  });

  it('stops sending when the signal aborts', async () => {
    const abort = new AbortController();
    setImmediate(() => abort.abort());
    const s = await runLoad({
      url: `${base}/`,
      pattern: constantRate(100),
      durationMs: 10_000,
      signal: abort.signal,
    });
    assert.equal(s.stoppedBy, 'signal');
    assert.ok(s.sent < 100);
  });
});

describe('load reports', () => {
  it('the summary table, timeline and progress line show the figures', async () => {
    const s = await runLoad({ url: `${base}/`, pattern: constantRate(20), durationMs: 500 });
    const table = formatSummary(s);
    assert.match(table, /^sent\s+10 /m);
    assert.match(table, /latency p50\/p95\/p99\s+[\d.]+ \/ [\d.]+ \/ [\d.]+ ms/);
    assert.match(formatTimeline(s.timeline), /^\s*t\s+target\s+sent/);
    const line = formatProgress(
      { elapsedMs: 5000, durationMs: 10_000, sent: 100, ok: 98, failed: 2, inFlight: 3, targetRps: 20 },
      10,
    );
    assert.equal(line, '[#####.....] 5.0/10s  sent 100  ok 98  failed 2  in-flight 3  target 20.0 rps');
  });
});
