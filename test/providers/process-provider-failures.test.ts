/**
 * Issue 17: what the process provider says when things go wrong (health probes, its own kills,
 * spawn failures), and log rotation that neither blocks the event loop nor exceeds its cap.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessProvider, type ProcessProviderOptions } from '../../src/providers/process-provider.js';
import type { ExitInfo } from '../../src/controller/provider.js';
import { nextEvent } from './provider-contract.js';
import { demoCommand } from './fixtures/demo.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-ppf-'));
const providers: ProcessProvider[] = [];
after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function make(options: Partial<ProcessProviderOptions> = {}): ProcessProvider {
  const p = new ProcessProvider({
    service: 'demo',
    command: demoCommand,
    logDir: join(root, `logs-${n++}`),
    readiness: { intervalMs: 20, timeoutMs: 1000, startTimeoutMs: 10_000 },
    stopGraceMs: 3000,
    onError: () => {},
    ...options,
  });
  providers.push(p);
  return p;
}

describe('ProcessProvider failure reports (issue 17 item 11)', () => {
  it('a start timeout says what the last probe saw (a status) and that luascale killed it', async () => {
    const p = make({
      env: { UNHEALTHY: '1' },
      healthPath: '/healthz',
      // Long enough for node to start listening on a loaded machine, so the probe gets its 503.
      readiness: { intervalMs: 20, startTimeoutMs: 2000 },
      replaceCrashed: false,
    });
    const failed = nextEvent(p, 'failed');
    const exited = nextEvent(p, 'exited');
    await p.launch();
    const [, reason] = await failed;
    assert.match(reason, /^not ready within 2000 ms: last probe GET \/healthz → 503/);
    const [, exit] = (await exited) as [unknown, ExitInfo];
    assert.equal(exit.expected, false);
    assert.equal(exit.killedBy, 'luascale');
    assert.match(exit.reason ?? '', /not ready within 2000 ms/);
  });

  it('a start timeout of a process that never listens says ECONNREFUSED', async () => {
    const p = make({
      command: [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)'],
      readiness: { intervalMs: 20, startTimeoutMs: 300 },
      replaceCrashed: false,
    });
    const failed = nextEvent(p, 'failed');
    await p.launch();
    const [, reason] = await failed;
    assert.match(reason, /last probe GET \/healthz → ECONNREFUSED/);
  });
});

describe('log rotation (issue 17 item 13)', () => {
  it('rotates a large log off the event loop and keeps each copy within the cap', async () => {
    const { rotateLogIfNeeded } = await import('../../src/providers/rotating-log.js');
    const { existsSync, statSync, writeFileSync, readFileSync } = await import('node:fs');
    const file = join(root, 'big.log');
    const line = `${'x'.repeat(99)}\n`;
    writeFileSync(file, line.repeat(300_000)); // 30 MB
    const cap = 1024 * 1024;
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const rotated = await rotateLogIfNeeded(file, cap, 2);
    spinning = false;
    assert.equal(rotated, true);
    assert.ok(turns > 0, 'the event loop turned while the log was copied');
    assert.equal(statSync(file).size, 0);
    const copy = statSync(`${file}.1`).size;
    assert.ok(copy > cap - 200 && copy <= cap, `copy of ${copy} bytes, cap ${cap}`);
    assert.ok(readFileSync(`${file}.1`, 'utf8').startsWith('x'), 'the copy starts at a line');
    writeFileSync(file, line.repeat(300_000));
    assert.equal(await rotateLogIfNeeded(file, cap, 2), true);
    writeFileSync(file, line.repeat(300_000));
    assert.equal(await rotateLogIfNeeded(file, cap, 2), true);
    assert.equal(existsSync(`${file}.3`), false);
    const total = [file, `${file}.1`, `${file}.2`].reduce((sum, f) => sum + statSync(f).size, 0);
    assert.ok(total <= 3 * cap, `total ${total} bytes over 3 × ${cap}`);
  });
});
