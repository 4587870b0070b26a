/**
 * Regression (issue 14, item 14): `up` printed nothing when an operator changed a service through
 * the admin API. Now its log says which service got a new policy (and which file or built-in), an
 * override set (count, clamp, TTL) or cleared, and a pause or resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp } from '../../src/app/luascale-app.js';

test(
  'up logs policy reloads, overrides set and cleared, pauses and resumes',
  { timeout: 30_000 },
  async () => {
    const upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ls-uplog-'));
    const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/u.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port}"] } }
    scaling: { min: 1, max: 3, interval: 1h, policy: { builtin: hpa, params: { metric: cpu, target: 60 } } }
`;
    const logs: string[] = [];
    const app = await startApp(
      {
        config: parseConfig(text, join(dir, 'luascale.yaml')),
        file: join(dir, 'luascale.yaml'),
        baseDir: dir,
      },
      { log: (l) => logs.push(l) },
    );
    const call = async (method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
      const res = await request(`${app.adminUrl}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      assert.equal(res.statusCode, 200, await res.body.text());
    };
    try {
      await call('PUT', '/v1/services/web/policy', {
        source: 'function decide(ctx) return 2 end',
        file: 'policies/two.lua',
      });
      await call('POST', '/v1/services/web/scale', { replicas: 5, ttl: '10m' });
      await call('DELETE', '/v1/services/web/scale');
      await call('POST', '/v1/services/web/pause');
      await call('POST', '/v1/services/web/scale', { replicas: 2 });
      await call('POST', '/v1/services/web/resume');
      assert.deepEqual(
        logs.filter((l) => !/instance|→/.test(l)),
        [
          'web: policy reloaded, now running policies/two.lua',
          'web: override set: 5 replica(s) (clamped to 3, min 1 max 3) for 10m',
          'web: override cleared; the policy decides again',
          'web: scaling paused (the count is held until resume)',
          'web: override set: 2 replica(s) until cleared; scaling is paused, so it waits for resume',
          'web: scaling resumed',
        ],
      );
    } finally {
      await app.close({ graceMs: 500 });
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
