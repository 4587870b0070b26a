/**
 * The KeyStore contract, run against SQLite and Redis (cluster mode): insert, get, list, revoke
 * (the first revocation time is kept; an unknown id is false), persisted across a reopen; and the
 * key verifier over each: a valid key, a wrong secret with the right id, a revoked key, a key of a
 * consumer no longer configured, and a malformed one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openStore } from '../../src/store/index.js';
import type { KeyStore } from '../../src/store/key-store.js';
import { redisKeyStore } from '../../src/cluster/redis-key-store.js';
import { createKeyVerifier, generateKey, keyIdOf } from '../../src/consumers/index.js';
import { startRedis, type TestRedis } from '../cluster/redis-server.js';

const root = mkdtempSync(join(tmpdir(), 'ls-key-store-'));
let server: TestRedis;
const connections: Redis[] = [];
before(async () => {
  server = await startRedis();
});
after(async () => {
  for (const r of connections) r.disconnect();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Opened {
  keys: KeyStore;
  reopen(): Promise<Opened>;
  close(): Promise<void>;
}

let n = 0;
function sqlite(file = join(root, `k${n++}.db`)): Promise<Opened> {
  const store = openStore({ file, flushIntervalMs: 0 });
  return Promise.resolve({
    keys: store.keys,
    reopen: async () => {
      store.close();
      return sqlite(file);
    },
    close: async () => store.close(),
  });
}

async function redis(prefix = `p${n++}:`): Promise<Opened> {
  const r = new Redis(server.url, { lazyConnect: true });
  await r.connect();
  connections.push(r);
  return {
    keys: redisKeyStore(r, prefix),
    reopen: () => redis(prefix),
    close: async () => {},
  };
}

for (const [name, open] of [
  ['sqlite', sqlite],
  ['redis', redis],
] as const) {
  describe(`KeyStore contract: ${name}`, () => {
    test('insert, get, list oldest first, revoke once; it survives a reopen', async () => {
      const s = await open();
      const a = generateKey('alice', 1000);
      const b = generateKey('bob', 2000);
      await s.keys.insert(b.stored);
      await s.keys.insert(a.stored);
      assert.deepEqual(await s.keys.get(a.stored.id), a.stored);
      assert.equal(await s.keys.get('0000000000000000'), undefined);
      assert.deepEqual(
        (await s.keys.list()).map((k) => k.id),
        [a.stored.id, b.stored.id],
      );
      assert.equal(await s.keys.revoke(a.stored.id, 5000), true);
      assert.equal(await s.keys.revoke(a.stored.id, 9000), true, 'revoking again is no error');
      assert.equal((await s.keys.get(a.stored.id))!.revokedAt, 5000, 'the first revocation time is kept');
      assert.equal(await s.keys.revoke('ffffffffffffffff', 5000), false);
      const again = await s.reopen();
      assert.equal((await again.keys.get(a.stored.id))!.revokedAt, 5000);
      assert.equal((await again.keys.get(b.stored.id))!.revokedAt, null);
      assert.ok(!JSON.stringify(await again.keys.list()).includes(a.key.slice(21)), 'no secret stored');
      await again.close();
    });

    test('the verifier: valid, wrong secret, revoked, unconfigured consumer, malformed', async () => {
      const s = await open();
      const alice = generateKey('alice', 1000);
      const gone = generateKey('gone', 1000);
      await s.keys.insert(alice.stored);
      await s.keys.insert(gone.stored);
      const v = createKeyVerifier({ keys: s.keys, consumers: { alice: {} } });
      assert.deepEqual(await v.verify(alice.key), { consumer: 'alice', keyId: alice.stored.id });
      const forged = alice.key.slice(0, 21) + generateKey('x', 0).key.slice(21);
      assert.equal(keyIdOf(forged), alice.stored.id, 'same id, another secret');
      assert.equal(await v.verify(forged), undefined);
      assert.equal(await v.verify(gone.key), undefined, 'a consumer no longer in the config');
      for (const bad of ['', 'lsk_', alice.key + 'x', alice.key.toUpperCase(), 'Bearer ' + alice.key])
        assert.equal(await v.verify(bad), undefined, JSON.stringify(bad));
      await s.keys.revoke(alice.stored.id, 2000);
      assert.equal(await v.verify(alice.key), undefined, 'revoked');
      await s.close();
    });
  });
}

test('the SQLite verifier answers synchronously (no promise on the request path)', async () => {
  const store = openStore({ file: join(root, 'sync.db'), flushIntervalMs: 0 });
  try {
    const k = generateKey('alice', 1);
    store.keys.insert(k.stored);
    const r = createKeyVerifier({ keys: store.keys, consumers: { alice: {} } }).verify(k.key);
    assert.ok(!(r instanceof Promise));
    assert.equal(r?.consumer, 'alice');
  } finally {
    store.close();
  }
});
