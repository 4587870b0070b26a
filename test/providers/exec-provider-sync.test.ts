/**
 * Issue 17 item 12: a failing list_command (the first one included) is retried with back-off and
 * reported through `sync` events and onError; the provider (and `luascale up`) keeps running.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecProvider } from '../../src/providers/exec-provider.js';
import type { SyncStatus } from '../../src/controller/provider.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-exec-sync-'));
// The provider's poll timer is unref'd: keep the loop alive while a test waits on its events.
const keepAlive = setInterval(() => {}, 1000);
after(() => {
  clearInterval(keepAlive);
  rmSync(root, { recursive: true, force: true });
});

/** A list script that fails while `<root>/<flag>` exists, and lists one target otherwise. */
function flakyList(flag: string): string {
  const file = join(root, `${flag}.sh`);
  writeFileSync(
    file,
    `#!/bin/sh\nif [ -e ${join(root, flag)} ]; then echo "backend API down" >&2; exit 3; fi\necho '[{"id":"a","url":"http://127.0.0.1:9"}]'\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

test('a failing first list is retried with growing back-off and reported; the targets come when it recovers', async () => {
  const flag = 'down-1';
  writeFileSync(join(root, flag), '');
  const errors: unknown[] = [];
  const syncs: SyncStatus[] = [];
  let third!: () => void;
  const thirdFailure = new Promise<void>((resolve) => (third = resolve));
  const p = new ExecProvider({
    service: 'web',
    scaleCommand: ['true'],
    listCommand: [flakyList(flag)],
    pollIntervalMs: 40,
    onError: (e) => errors.push(e),
  });
  p.on('sync', (s) => {
    syncs.push(s);
    if (!s.ok && s.failures === 3) third();
  });
  try {
    await assert.rejects(p.whenSynced(), /exited with code 3: backend API down/);
    await thirdFailure;
    const failed = syncs.filter((s): s is Extract<SyncStatus, { ok: false }> => !s.ok);
    assert.deepEqual(
      failed.slice(0, 3).map((s) => [s.failures, s.retryInMs]),
      [
        [1, 40],
        [2, 80],
        [3, 160],
      ],
    );
    assert.ok(errors.length >= 3, 'each failure goes to onError');
    assert.equal(p.list().length, 0);
    const recovered = new Promise<void>((resolve) => p.on('sync', (s) => s.ok && resolve()));
    rmSync(join(root, flag));
    await recovered;
    assert.deepEqual(
      p.list().map((i) => i.url),
      ['http://127.0.0.1:9'],
    );
  } finally {
    await p.close();
  }
});

test('luascale up starts when the first list_command fails, logs it and shows it in status', async () => {
  const flag = 'down-2';
  writeFileSync(join(root, flag), '');
  const lines: string[] = [];
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${root}/s.db" }
services:
  web:
    provider:
      exec:
        scale_command: ["true"]
        list_command: ["${flakyList(flag)}"]
        poll_interval: 100ms
    scaling: { min: 0, max: 2, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
  const app = await startApp(
    {
      config: parseConfig(text, join(root, 'luascale.yaml')),
      file: join(root, 'luascale.yaml'),
      baseDir: root,
    },
    { log: (l) => lines.push(l) },
  );
  try {
    assert.ok(
      lines.some((l) => /^web: .*exited with code 3: backend API down/.test(l)),
      lines.join('\n'),
    );
    // The next failed retry reaches the controller: status names the stage and the message.
    const provider = app.providers.get('web')!;
    await new Promise<void>((resolve) => {
      const off = provider.on('sync', (s) => !s.ok && (off(), resolve()));
    });
    const res = await fetch(`${app.adminUrl}/v1/services/web`);
    const body = (await res.json()) as { actuationError: { stage: string; message: string } | null };
    assert.equal(body.actuationError?.stage, 'list');
    assert.match(body.actuationError?.message ?? '', /backend API down/);
  } finally {
    await app.close({ graceMs: 200 });
  }
});
