import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createAccessLog, type AccessLogEntry } from '../../../src/gateway/access-log.js';

const entry = (over: Partial<AccessLogEntry> = {}): AccessLogEntry => ({
  requestId: 'req-1',
  clientIp: '203.0.113.9',
  method: 'GET',
  path: '/users/42',
  route: '/users/{id}',
  service: 'api',
  upstream: 'i1',
  status: 200,
  bytesIn: 0,
  bytesOut: 123,
  durationMs: 12.3456,
  queuedMs: 1,
  upstreamMs: 11,
  attempts: 1,
  ...over,
});

function memory(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

test('full mode writes one JSON line per request with ids, route, upstream, status, bytes and timings', async () => {
  const m = memory();
  const log = createAccessLog({ mode: 'full', destination: m.stream });
  log.log(entry());
  log.log(entry({ requestId: 'req-2', status: 404 }));
  await new Promise((r) => setImmediate(r));
  const [a, b] = m.lines();
  assert.equal(a!.reqId, 'req-1');
  assert.equal(a!.clientIp, '203.0.113.9');
  assert.equal(a!.route, '/users/{id}');
  assert.equal(a!.upstream, 'i1');
  assert.equal(a!.status, 200);
  assert.equal(a!.bytesOut, 123);
  assert.deepEqual(a!.timings, { totalMs: 12.346, queueMs: 1, upstreamMs: 11 });
  assert.equal(a!.level, 'info');
  assert.equal(typeof a!.time, 'string');
  assert.equal(b!.status, 404);
});

test('sampled mode keeps the sampled fraction and every error', async () => {
  const m = memory();
  let i = 0;
  const log = createAccessLog({
    mode: 'sampled',
    sampleRate: 0.25,
    destination: m.stream,
    random: () => (i++ % 4) / 4,
  });
  for (let k = 0; k < 8; k++) log.log(entry({ requestId: `ok-${k}` }));
  log.log(entry({ requestId: 'err', status: 502 }));
  log.log(entry({ requestId: 'gone', status: 0 }));
  await new Promise((r) => setImmediate(r));
  const ids = m.lines().map((l) => l.reqId);
  assert.deepEqual(ids, ['ok-0', 'ok-4', 'err', 'gone']);
});

test('off mode writes nothing', async () => {
  const m = memory();
  const log = createAccessLog({ mode: 'off', destination: m.stream });
  log.log(entry());
  await log.close();
  assert.equal(m.lines().length, 0);
});

test('a file destination is created, written and closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'luascale-access-'));
  try {
    const file = join(dir, 'logs', 'access.log');
    const log = createAccessLog({ mode: 'full', destination: file });
    for (let k = 0; k < 100; k++) log.log(entry({ requestId: `r${k}` }));
    await log.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 100);
    assert.equal(JSON.parse(lines[99]!).reqId, 'r99');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad sample rate is refused', () => {
  assert.throws(() => createAccessLog({ mode: 'sampled', sampleRate: 2 }), RangeError);
});
