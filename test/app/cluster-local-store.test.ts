/**
 * Issue 16 item 8: gateways started from one folder in cluster mode (store.redis) each keep a local
 * SQLite file (metric history, own instance records). They used to share the default ./luascale.db
 * and all but one exited with "database is locked". Without store.sqlite a cluster node's file is
 * named after its gateway port; two nodes given one explicit file get an error naming the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { localStoreFile } from '../../src/config/store-file.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { freePort, startRedisOrSkip } from '../cluster/redis-server.js';

const configText = (redisUrl: string, store = '') => `
gateway: { listen: "127.0.0.1:\${GATEWAY_PORT}", access_log: off }
admin: { listen: "127.0.0.1:0" }
store: { redis: "${redisUrl}"${store} }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    scaling: { policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;

test('the default local file: ./luascale.db alone, one per gateway port in cluster mode', () => {
  const alone = parseConfig(
    'services: { web: { provider: { static: { targets: ["http://x"] } } } }',
    '/d/l.yaml',
    {},
  );
  assert.equal(localStoreFile(alone, '/d'), '/d/luascale.db');
  const cluster = parseConfig(configText('redis://127.0.0.1:6379'), '/d/l.yaml', { GATEWAY_PORT: '8081' });
  assert.equal(localStoreFile(cluster, '/d'), '/d/luascale-8081.db');
  assert.equal(localStoreFile(cluster, '/d', '0.0.0.0:9000'), '/d/luascale-9000.db');
  const explicit = parseConfig(configText('redis://127.0.0.1:6379', ', sqlite: "s/node.db"'), '/d/l.yaml', {
    GATEWAY_PORT: '8081',
  });
  assert.equal(localStoreFile(explicit, '/d'), '/d/s/node.db');
});

test(
  'three cluster gateways started from one folder each open their own local file',
  { timeout: 60_000 },
  async (t) => {
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const dir = mkdtempSync(join(tmpdir(), 'ls-cluster-db-'));
    const apps: LuascaleApp[] = [];
    try {
      const ports: number[] = [];
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        ports.push(port);
        const file = join(dir, 'luascale.yaml');
        apps.push(
          await startApp({
            config: parseConfig(configText(redis.url), file, { GATEWAY_PORT: String(port) }),
            file,
            baseDir: dir,
          }),
        );
      }
      assert.equal(apps.length, 3);
      for (const port of ports)
        assert.ok(existsSync(join(dir, `luascale-${port}.db`)), `luascale-${port}.db`);
      assert.ok(!existsSync(join(dir, 'luascale.db')), 'no shared default file');
      assert.equal(readdirSync(dir).filter((f) => f.endsWith('.db')).length, 3);
    } finally {
      for (const a of apps) await a.close({ graceMs: 100 });
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'two cluster nodes on one explicit store.sqlite: the error names the key to set',
  { timeout: 60_000 },
  async (t) => {
    const redis = await startRedisOrSkip(t);
    if (!redis) return;
    const dir = mkdtempSync(join(tmpdir(), 'ls-cluster-db-'));
    const apps: LuascaleApp[] = [];
    try {
      const file = join(dir, 'luascale.yaml');
      const text = configText(redis.url, ', sqlite: "./shared.db"');
      apps.push(
        await startApp({
          config: parseConfig(text, file, { GATEWAY_PORT: String(await freePort()) }),
          file,
          baseDir: dir,
        }),
      );
      await assert.rejects(
        startApp({
          config: parseConfig(text, file, { GATEWAY_PORT: String(await freePort()) }),
          file,
          baseDir: dir,
        }),
        (err) =>
          isLuascaleError(err, 'LS_ERR_STORE_OPEN') &&
          /shared\.db: cannot open store: the database is locked/.test(err.message) &&
          /set store\.sqlite/.test(err.message) &&
          !err.message.includes('\n'),
      );
    } finally {
      for (const a of apps) await a.close({ graceMs: 100 });
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
