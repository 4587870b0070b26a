import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import {
  ProcessProvider,
  groupExists,
  type ProcessProviderOptions,
} from '../../src/providers/process-provider.js';
import { MemoryInstanceStore } from '../../src/providers/memory-instance-store.js';
import { isAlive, readProcStat } from '../../src/providers/proc-stat.js';
import { systemClock } from '../../src/core/clock.js';
import { isLuascaleError } from '../../src/core/errors.js';
import type { CrashLoopInfo, Instance } from '../../src/controller/provider.js';
import { nextEvent, providerContract } from './provider-contract.js';
import { demoCommand } from './fixtures/demo.js';
import { JsonFileInstanceStore } from './fixtures/json-file-store.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-pp-'));
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

async function launchReady(p: ProcessProvider): Promise<Instance> {
  const ready = nextEvent(p, 'ready');
  const launched = await p.launch();
  const [instance] = await ready;
  assert.equal(instance.id, launched.id);
  return instance;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { reset: true });
  return { status: res.statusCode, body: await res.body.text() };
}

providerContract('process', async () => {
  const provider = make();
  return { provider, cleanup: () => provider.close() };
});

describe('ProcessProvider', () => {
  it('launches an instance in its own process group that serves on the port it was given', async () => {
    const p = make();
    const i = await launchReady(p);
    assert.equal(i.pgid, i.pid);
    assert.equal(readProcStat(i.pid!)?.pgid, i.pid, 'the instance leads its own process group');
    assert.equal(i.url, `http://127.0.0.1:${i.port}`);
    const res = await get(`${i.url}/pid`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).pid, i.pid);
    assert.ok(typeof i.readyAt === 'number' && i.readyAt >= i.startedAt);
    await p.close();
  });

  it('stop() removes the whole process group, grandchildren included', async () => {
    const p = make({ env: { SPAWN_CHILD: '1' } });
    const i = await launchReady(p);
    const { child } = JSON.parse((await get(`${i.url}/pid`)).body) as { child: number };
    assert.equal(readProcStat(child)?.pgid, i.pgid, 'the grandchild is in the instance group');
    await p.stop(i.id);
    assert.equal(groupExists(i.pgid!), false);
    // Not alive: gone, or a zombie waiting for an init that reaps slowly (as in some containers).
    assert.equal(isAlive(i.pid!), false);
    assert.equal(isAlive(child), false);
    assert.equal(p.list().length, 0);
  });

  it('stop() calls the drain hook while the instance still runs, before SIGTERM', async () => {
    const order: string[] = [];
    const p = make({
      drainHook: async (inst) => {
        order.push(`drain:${inst.state}:${readProcStat(inst.pid!) ? 'alive' : 'dead'}`);
        // In-flight work the gateway waits for: the instance must still answer during the drain.
        order.push(`serve:${(await get(`${inst.url}/slow?ms=50`)).status}`);
      },
    });
    const i = await launchReady(p);
    p.on('exited', (inst, exit) => order.push(`exited:${inst.state}:${exit.signal ?? exit.code}`));
    await p.stop(i.id);
    assert.deepEqual(order, ['drain:draining:alive', 'serve:200', 'exited:stopped:0']);
  });

  it('an instance that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const p = make({ env: { IGNORE_SIGTERM: '1' }, stopGraceMs: 300 });
    const i = await launchReady(p);
    const exited = nextEvent(p, 'exited', (x) => x.id === i.id);
    const t0 = performance.now();
    await p.stop(i.id);
    const took = performance.now() - t0;
    const [, exit] = await exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(exit.expected, true);
    assert.ok(took >= 300, `stop took ${took} ms, less than the grace`);
    assert.equal(groupExists(i.pgid!), false);
  });

  it('a worker that outlives its leader past the grace is SIGKILLed with the group', async () => {
    const p = make({ env: { SPAWN_CHILD: 'stubborn' }, stopGraceMs: 300 });
    const i = await launchReady(p);
    const { child } = JSON.parse((await get(`${i.url}/pid`)).body) as { child: number };
    const exited = nextEvent(p, 'exited', (x) => x.id === i.id);
    const t0 = performance.now();
    await p.stop(i.id);
    const [, exit] = await exited;
    assert.equal(exit.code, 0, 'the leader itself exited gracefully');
    assert.ok(performance.now() - t0 >= 300, 'the group was given the grace period');
    assert.equal(isAlive(child), false);
    assert.equal(groupExists(i.pgid!), false);
  });

  it('a crashed instance emits failed and exited, and is replaced', async () => {
    const p = make();
    const i = await launchReady(p);
    const failed = nextEvent(p, 'failed', (x) => x.id === i.id);
    const exited = nextEvent(p, 'exited', (x) => x.id === i.id);
    const replaced = nextEvent(p, 'ready', (x) => x.id !== i.id);
    await get(`${i.url}/exit?code=3`);
    const [, reason] = await failed;
    assert.equal(reason, 'exited with code 3');
    const [, exit] = await exited;
    assert.deepEqual(exit, { code: 3, signal: null, expected: false });
    const [fresh] = await replaced;
    assert.notEqual(fresh.pid, i.pid);
    assert.deepEqual(
      p.list().map((x) => x.id),
      [fresh.id],
    );
    await p.close();
  });

  it('repeated crashes back off exponentially and emit crashloop', async () => {
    const p = make({
      env: { EXIT_ON_START: '1' },
      crashBackoff: { initialMs: 100, maxMs: 1000, loopThreshold: 3 },
    });
    const loops: CrashLoopInfo[] = [];
    const launches: number[] = [];
    const exits: number[] = [];
    p.on('exited', () => exits.push(performance.now()));
    const fourth = new Promise<void>((resolve) =>
      p.on('crashloop', (info) => {
        loops.push(info);
        if (info.crashes === 4) resolve();
      }),
    );
    const first = await p.launch();
    launches.push(performance.now());
    await fourth;
    await p.close();
    assert.deepEqual(
      loops.map((l) => [l.crashes, l.backoffMs]),
      [
        [3, 200],
        [4, 400],
      ],
    );
    assert.equal(loops[0]!.service, 'demo');
    assert.notEqual(loops[0]!.lastInstance.id, first.id);
    // Crash 2 waited 100 ms and crash 3 200 ms before their replacements: exits are spaced at least that much.
    assert.ok(exits.length >= 4);
    assert.ok(exits[2]! - exits[1]! >= 100, `gap ${exits[2]! - exits[1]!}`);
    assert.ok(exits[3]! - exits[2]! >= 200, `gap ${exits[3]! - exits[2]!}`);
  });

  it('launch() during a back-off claims the pending replacement instead of starting a duplicate', async () => {
    const p = make({ env: { EXIT_ON_START: '1' }, crashBackoff: { initialMs: 5000, maxMs: 5000 } });
    let exits = 0;
    const twoCrashes = new Promise<void>((resolve) => p.on('exited', () => ++exits === 2 && resolve()));
    await p.launch();
    await twoCrashes; // the first crash is replaced at once; after the second the replacement waits 5 s
    assert.equal(p.pendingReplacements(), 1);
    const claimed = p.launch();
    assert.equal(p.pendingReplacements(), 0);
    assert.equal(p.list().length, 0, 'nothing started ahead of the back-off');
    await p.close();
    await assert.rejects(claimed, (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_LAUNCH'));
  });

  it('an instance that exits during its drain counts as stopped, not crashed, and is not replaced', async () => {
    const p: ProcessProvider = make({
      drainHook: async (inst) => {
        const gone = nextEvent(p, 'exited', (x) => x.id === inst.id);
        await get(`${inst.url}/exit?code=5`);
        await gone;
      },
    });
    const i = await launchReady(p);
    const exited = nextEvent(p, 'exited', (x) => x.id === i.id);
    await p.stop(i.id);
    const [inst, exit] = await exited;
    assert.deepEqual([inst.state, exit.expected, exit.code], ['stopped', true, 5]);
    assert.equal(p.list().length, 0);
    assert.equal(p.pendingReplacements(), 0);
  });

  it('a draining instance that crashes is reported but not replaced', async () => {
    const p = make();
    const i = await launchReady(p);
    await p.drain(i.id);
    const failed = nextEvent(p, 'failed', (x) => x.id === i.id);
    await get(`${i.url}/exit?code=4`);
    const [inst, reason] = await failed;
    assert.equal(inst.state, 'failed');
    assert.equal(reason, 'exited with code 4');
    assert.equal(p.pendingReplacements(), 0);
    assert.equal(p.list().length, 0);
  });

  it('keeps the instance store in step with the lifecycle, synchronously for a sync store', async () => {
    const store = new MemoryInstanceStore();
    const p = make({ instanceStore: store });
    const launched = await p.launch();
    assert.deepEqual(
      store.list('demo').map((r) => [r.id, r.state, r.pid, r.pgid]),
      [[launched.id, 'starting', launched.pid, launched.pgid]],
    );
    const ready = nextEvent(p, 'ready');
    await ready;
    const [record] = store.list('demo');
    assert.equal(record?.state, 'ready');
    assert.deepEqual(record?.command, demoCommand);
    assert.equal(record?.url, launched.url);
    await p.stop(launched.id);
    assert.deepEqual(store.list('demo'), []);
  });

  it('a failing store is reported and never breaks the lifecycle', async () => {
    const errors: string[] = [];
    const p = make({
      instanceStore: {
        upsert: () => {
          throw new Error('disk full');
        },
        list: () => [],
        remove: async () => {
          throw new Error('locked');
        },
      },
      onError: (err, context) => errors.push(`${context}: ${(err as Error).message}`),
    });
    const i = await launchReady(p);
    await p.stop(i.id);
    assert.ok(
      errors.some((e) => /store upsert inst_\w+: disk full/.test(e)),
      errors.join('; '),
    );
    assert.ok(
      errors.some((e) => /store remove inst_\w+: locked/.test(e)),
      errors.join('; '),
    );
  });

  it('an instance that never becomes ready fails after the start timeout', async () => {
    const p = make({
      env: { UNHEALTHY: '1' },
      readiness: { intervalMs: 20, startTimeoutMs: 300 },
      replaceCrashed: false,
    });
    const failed = nextEvent(p, 'failed');
    const launched = await p.launch();
    const [inst, reason] = await failed;
    assert.equal(inst.id, launched.id);
    assert.match(reason, /not ready within 300 ms/);
    assert.equal(groupExists(launched.pgid!), false);
    assert.equal(p.list().length, 0);
  });

  it('a command that cannot be spawned rejects launch() with LS_ERR_PROVIDER_LAUNCH', async () => {
    const p = make({ command: [join(root, 'no-such-binary')] });
    await assert.rejects(
      p.launch(),
      (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_LAUNCH') && /ENOENT/.test(err.message),
    );
    assert.equal(p.list().length, 0);
  });

  it('writes stdout to a per-instance log file and rotates it by size', async () => {
    const p = make({ logMaxBytes: 1000, logFiles: 2 });
    const i = await launchReady(p);
    const file = i.logFile!;
    assert.match(readFileSync(file, 'utf8'), /listening on/);
    assert.equal(await p.rotateLogs(), 0, 'under the limit: no rotation');
    for (let round = 0; round < 3; round++) {
      await get(`${i.url}/log?bytes=3000`);
      assert.equal(await p.rotateLogs(), 1);
      assert.equal(statSync(file).size, 0);
    }
    // Each rotated copy keeps the newest logMaxBytes at most (issue 17 item 13).
    for (const copy of [`${file}.1`, `${file}.2`]) {
      const size = statSync(copy).size;
      assert.ok(size > 0 && size <= 1000, `${copy}: ${size} bytes`);
    }
    assert.equal(existsSync(`${file}.3`), false, 'only logFiles copies are kept');
    // The instance keeps writing to the truncated file (O_APPEND), not at its old offset.
    await get(`${i.url}/log?bytes=200`);
    assert.equal(statSync(file).size, 200);
    await p.close();
  });

  it('usage() reports CPU of a busy instance in percent of one core, and its RSS', async () => {
    const p = make({ memoryLimitBytes: 512 * 1024 * 1024 });
    const i = await launchReady(p);
    const t0 = systemClock.now();
    p.usage(t0);
    await get(`${i.url}/work?ms=300`); // 300 ms of CPU time, however contended the machine is
    const t1 = systemClock.now();
    const u = p.usage(t1).get(i.id);
    assert.ok(u, 'a sample for the instance');
    // percent of one core × elapsed seconds = CPU seconds used in the interval.
    const cpuSeconds = (u.cpu / 100) * ((t1 - t0) / 1000);
    assert.ok(
      cpuSeconds >= 0.27,
      `measured ${cpuSeconds.toFixed(3)} CPU s for a 0.3 s burn (cpu ${u.cpu.toFixed(1)}%)`,
    );
    assert.ok(
      cpuSeconds <= 0.3 + ((t1 - t0) / 1000) * 2,
      `measured ${cpuSeconds.toFixed(3)} CPU s, more than possible`,
    );
    assert.ok(u.rssBytes > 5 * 1024 * 1024, `rss ${u.rssBytes}`);
    assert.ok(Math.abs((u.memory ?? NaN) - (u.rssBytes / (512 * 1024 * 1024)) * 100) < 1e-9);
    await p.close();
  });
});

describe('ProcessProvider adoption', () => {
  it('after luascale is killed -9, a new provider adopts the healthy instances and stops or drops the rest', async () => {
    const storePath = join(root, 'store.json');
    const host = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/provider-host.ts', import.meta.url)),
        storePath,
        join(root, 'host-logs'),
        '3',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      host.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /READY (.*)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      host.once('exit', (code) => reject(new Error(`provider host exited early (${code})`)));
    });
    const launched = JSON.parse(line) as Instance[];
    assert.equal(launched.length, 3);
    const exitedHost = new Promise((resolve) => host.once('exit', resolve));
    host.kill('SIGKILL');
    await exitedHost;
    // The children outlived their parent, each in its own group.
    for (const i of launched) assert.equal(readProcStat(i.pid!)?.pgid, i.pgid);

    const [healthy, alsoHealthy, sick] = launched as [Instance, Instance, Instance];
    await get(`${sick.url}/sick`);
    const store = new JsonFileInstanceStore(storePath);
    // A stale record (pid gone) and a record whose pid now belongs to someone else (this test process).
    store.upsert({
      id: 'inst_stale',
      service: 'demo',
      pid: 2 ** 22 + 1,
      pgid: 2 ** 22 + 1,
      port: 1,
      url: 'http://127.0.0.1:1',
      command: demoCommand,
      state: 'ready',
      startedAt: 0,
    });
    store.upsert({
      id: 'inst_reused',
      service: 'demo',
      pid: process.pid,
      pgid: process.pid,
      port: 1,
      url: 'http://127.0.0.1:1',
      command: demoCommand,
      state: 'ready',
      startedAt: 0,
    });

    const p = make({ instanceStore: store, housekeepingMs: 50 });
    const readyEvents: string[] = [];
    p.on('ready', (i) => readyEvents.push(i.id));
    const report = await p.adopt();
    assert.deepEqual(report.adopted.map((i) => i.id).sort(), [healthy.id, alsoHealthy.id].sort());
    assert.deepEqual(
      report.stopped.map((r) => r.id),
      [sick.id],
    );
    assert.deepEqual(report.forgotten.map((r) => r.id).sort(), ['inst_reused', 'inst_stale']);
    assert.deepEqual(readyEvents.sort(), [healthy.id, alsoHealthy.id].sort());
    // Stale instances are stopped in the background (issue 17 item 9).
    await report.stopping;
    assert.equal(groupExists(sick.pgid!), false, 'the unhealthy instance was stopped');
    assert.ok(readProcStat(process.pid), 'a foreign pid is never signalled');
    assert.deepEqual(
      store
        .list('demo')
        .map((r) => r.id)
        .sort(),
      [healthy.id, alsoHealthy.id].sort(),
    );
    assert.ok(p.list().every((i) => i.adopted && i.state === 'ready'));

    // Adopting again never duplicates.
    const again = await p.adopt();
    assert.equal(again.adopted.length, 0);
    assert.equal(p.list().length, 2);

    // An adopted instance that dies is noticed without an exit event from the kernel, and replaced.
    const failed = nextEvent(p, 'failed', (i) => i.id === healthy.id);
    const replacement = nextEvent(p, 'ready', (i) => !launched.some((l) => l.id === i.id));
    process.kill(healthy.pid!, 'SIGKILL');
    await failed;
    await replacement;

    // Stopping an adopted instance (no child handle) still takes its whole group.
    await p.stop(alsoHealthy.id);
    assert.equal(groupExists(alsoHealthy.pgid!), false);
    await p.close();
    for (const i of launched) assert.equal(groupExists(i.pgid!), false, `group ${i.pgid} is gone`);
    assert.deepEqual(store.list('demo'), []);
  });
});
