import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/cluster/redis-store.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { eventStoreContract } from '../store/contracts/event-store-contract.js';
import { instanceStoreContract } from '../store/contracts/instance-store-contract.js';
import { stateStoreContract } from '../store/contracts/state-store-contract.js';
import { startRedis, type TestRedis } from './redis-server.js';

let server: TestRedis;
const root = mkdtempSync(join(tmpdir(), 'luascale-redis-store-'));
let n = 0;

before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

// each handle opens its own connection; reopen = a new connection and local file, same prefix
async function handle(prefix: string) {
  const redis = new Redis(server.url, { lazyConnect: true });
  await redis.connect();
  const store = createRedisStore({
    redis,
    prefix,
    local: openStore({ file: join(root, `l${n++}.db`), flushIntervalMs: 0 }),
    ownsConnection: true,
    sharedInstances: true,
  });
  const h: any = {
    store,
    events: store.events,
    state: store.state,
    instances: store.instances,
    flush: () => store.flush(),
    close: () => store.close(),
    reopen: () => handle(prefix),
  };
  return h;
}

eventStoreContract('redis', () => handle(`s${++n}:`));
stateStoreContract('redis', () => handle(`s${++n}:`));
instanceStoreContract('redis', () => handle(`s${++n}:`));
