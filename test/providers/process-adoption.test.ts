/**
 * Issue 17 items 8 and 9: adoption after a restart rolls instances whose launch spec changed
 * (start new, then drain old), stops stale instances in parallel without holding up the start,
 * and keeps instances that were still starting. A "restart" is `detach()` (luascale exits and
 * leaves its instances running and recorded) followed by a new provider's `adopt()`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import {
  ProcessProvider,
  groupExists,
  type ProcessProviderOptions,
} from '../../src/providers/process-provider.js';
import { MemoryInstanceStore } from '../../src/providers/memory-instance-store.js';
import { stopOrphanInstances } from '../../src/providers/orphan-instances.js';
import type { Instance } from '../../src/controller/provider.js';
import { nextEvent } from './provider-contract.js';
import { demoCommand } from './fixtures/demo.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-adopt-'));
const providers: ProcessProvider[] = [];
const groups: number[] = [];
after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  for (const g of groups)
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // gone
    }
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function make(store: MemoryInstanceStore, options: Partial<ProcessProviderOptions> = {}): ProcessProvider {
  const p = new ProcessProvider({
    service: 'demo',
    command: demoCommand,
    logDir: join(root, `logs-${n++}`),
    readiness: { intervalMs: 20, timeoutMs: 1000, startTimeoutMs: 10_000 },
    stopGraceMs: 3000,
    instanceStore: store,
    housekeepingMs: 50,
    onError: () => {},
    ...options,
  });
  providers.push(p);
  return p;
}

async function launchReady(p: ProcessProvider, count: number): Promise<Instance[]> {
  const out: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const ready = nextEvent(p, 'ready');
    const launched = await p.launch();
    groups.push(launched.pgid!);
    await ready;
    out.push(launched);
  }
  return out;
}

function envOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

describe('adoption after a restart (issue 17)', () => {
  it('item 8: instances whose env changed are rolled: a replacement is ready before the old one stops', async () => {
    const store = new MemoryInstanceStore();
    const before = make(store, { env: { FLAVOUR: 'old' } });
    const old = await launchReady(before, 2);
    await before.detach();

    const p = make(store, { env: { FLAVOUR: 'new' } });
    const order: string[] = [];
    p.on('ready', (i) => order.push(`ready ${old.some((o) => o.id === i.id) ? 'old' : 'new'}`));
    p.on('exited', (i, exit) => {
      assert.equal(exit.expected, true);
      order.push(`exited ${old.some((o) => o.id === i.id) ? 'old' : 'new'}`);
    });
    const bothGone = Promise.all(old.map((o) => nextEvent(p, 'exited', (i) => i.id === o.id, 20_000)));
    const report = await p.adopt();
    assert.equal(report.adopted.length, 2, 'adopted (still serving) while the roll runs');
    assert.equal(p.list().length, 2, 'the starting replacement is not listed');
    await bothGone;
    assert.deepEqual(order, ['ready old', 'ready old', 'ready new', 'exited old', 'ready new', 'exited old']);
    const now = p.list();
    assert.equal(now.length, 2);
    for (const i of now) {
      assert.equal(i.state, 'ready');
      assert.ok(envOf(i.pid!).includes('FLAVOUR=new'), 'the replacement runs the new spec');
      groups.push(i.pgid!);
    }
    // The records now carry the new spec: a second restart adopts them as they are.
    await p.detach();
    const again = make(store, { env: { FLAVOUR: 'new' } });
    let launchedMore = false;
    again.on('ready', (i) => (launchedMore ||= !now.some((x) => x.id === i.id)));
    const second = await again.adopt();
    assert.equal(second.adopted.length, 2);
    assert.equal(launchedMore, false);
    await again.close();
  });

  it('item 9: stale instances are stopped in parallel and in the background; starting ones are kept', async () => {
    const store = new MemoryInstanceStore();
    const graceMs = 1500;
    const before = make(store, { env: { IGNORE_SIGTERM: '1' }, stopGraceMs: graceMs });
    const stale = await launchReady(before, 2);
    for (const s of stale) await (await request(`${s.url}/sick`, { reset: true })).body.dump();
    // And one still starting (ready after 1.5 s) when luascale goes away.
    const slow = make(store, { env: { READY_DELAY_MS: '1500' } });
    const starting = await slow.launch();
    groups.push(starting.pgid!);
    await before.detach();
    await slow.detach();

    // The same spec as the starting one (a starting instance with another spec is not kept).
    const p = make(store, { env: { READY_DELAY_MS: '1500' }, stopGraceMs: graceMs });
    const started = performance.now();
    const report = await p.adopt();
    assert.deepEqual(report.stopped.map((r) => r.id).sort(), stale.map((s) => s.id).sort());
    assert.ok(
      stale.every((s) => groupExists(s.pgid!)),
      'adopt() returns before the stale instances (which ignore SIGTERM) are gone',
    );
    assert.deepEqual(
      report.adopted.map((i) => [i.id, i.state]),
      [[starting.id, 'starting']],
    );
    const ready = nextEvent(p, 'ready', (i) => i.id === starting.id);
    await report.stopping;
    const took = performance.now() - started;
    assert.ok(stale.every((s) => !groupExists(s.pgid!)));
    assert.ok(
      took < 2 * graceMs,
      `both stopped in ${took.toFixed(0)} ms: in parallel, not one after another`,
    );
    await ready;
    assert.equal(p.list()[0]?.state, 'ready');
    await p.close();
  });

  it('item 7: instances of a service no longer in the config are stopped, those of current ones left alone', async () => {
    const store = new MemoryInstanceStore();
    const web = make(store, { service: 'web' });
    const api = make(store, { service: 'api' });
    const [orphan] = await launchReady(web, 1);
    const [kept] = await launchReady(api, 1);
    await web.detach();
    await api.detach();
    // `web` was renamed: only `api` is configured now.
    const report = await stopOrphanInstances({ services: new Set(['api']), stopGraceMs: 3000, store });
    assert.deepEqual(
      report.stopped.map((r) => r.id),
      [orphan!.id],
    );
    await report.stopping;
    assert.equal(groupExists(orphan!.pgid!), false, 'the orphan is stopped');
    assert.equal(groupExists(kept!.pgid!), true, 'a configured service is not touched');
    assert.deepEqual(
      store.list().map((r) => r.id),
      [kept!.id],
    );
  });
});
