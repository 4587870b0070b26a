/**
 * Issue 17 item 10: a failing scale_command shows in the `up` log, in GET /v1/services/{name}
 * and as the ActuationFailing alert, not only as an event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';
import type { AdminEvent } from '../../src/admin/admin-server.js';

test(
  'a scale_command exiting non-zero is in the log, the service status and an alert',
  { timeout: 30_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ls-act-app-'));
    const lines: string[] = [];
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${root}/s.db" }
services:
  web:
    provider:
      exec:
        scale_command: ["sh", "-c", "echo 'quota exceeded' >&2; exit 2", "scale"]
        list_command: ["sh", "-c", "echo '[]'"]
    scaling: { min: 1, max: 2, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
    let alerted!: (e: AdminEvent) => void;
    const alert = new Promise<AdminEvent>((resolve) => (alerted = resolve));
    const app = await startApp(
      {
        config: parseConfig(text, join(root, 'luascale.yaml')),
        file: join(root, 'luascale.yaml'),
        baseDir: root,
      },
      {
        log: (l) => lines.push(l),
        onEvent: (e) => {
          if (e.type === 'alert' && e.data.name === 'ActuationFailing' && e.data.status === 'firing')
            alerted(e);
        },
      },
    );
    try {
      const e = await alert;
      assert.match(String(e.data.message), /quota exceeded/);
      assert.ok(
        lines.some((l) =>
          /^web: actuate failed: .*exited with code 2: quota exceeded \(retry in \d+ ms\)/.test(l),
        ),
        lines.join('\n'),
      );
      const body = (await (await fetch(`${app.adminUrl}/v1/services/web`)).json()) as {
        actuationError: { stage: string; message: string; failures: number } | null;
      };
      assert.equal(body.actuationError?.stage, 'launch');
      assert.match(body.actuationError?.message ?? '', /quota exceeded/);
      const list = (await (await fetch(`${app.adminUrl}/v1/services`)).json()) as Array<{
        actuationError: unknown;
      }>;
      assert.ok(list[0]?.actuationError, 'the summary carries it too (status, dashboard)');
    } finally {
      await app.close({ graceMs: 200 });
      rmSync(root, { recursive: true, force: true });
    }
  },
);
