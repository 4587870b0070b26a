/**
 * Starts a throwaway `redis-server` for one test file: a free loopback port (found by binding
 * 127.0.0.1:0, since redis refuses --port 0), no persistence, killed at the end. `kill()` and
 * `restart()` let outage tests SIGKILL it and bring it back on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';

/** A running redis-server under test control. */
export interface TestRedis {
  port: number;
  url: string;
  pid(): number | undefined;
  /** SIGKILLs the server (an outage); resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Stops it for good. */
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1 by binding port 0 and closing. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function launch(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      // redis prints this line when it accepts connections
      if (/Ready to accept connections/.test(out)) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.resume();
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited (${code}) before ready: ${out.slice(-500)}`)),
    );
  });
}

/** Starts redis-server on a free port. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  const gone = (c: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    async kill() {
      if (child) await gone(child, 'SIGKILL');
      child = undefined;
    },
    async restart() {
      child = await launch(port);
    },
    async stop() {
      if (child) await gone(child, 'SIGKILL');
      child = undefined;
    },
  };
}

/** A redis-server for `t`, or undefined after marking the test skipped when none can start. */
export async function startRedisOrSkip(t: { skip(message?: string): void }): Promise<TestRedis | undefined> {
  return startRedis().catch((err) => {
    t.skip(`redis-server unavailable: ${(err as Error).message}`);
    return undefined;
  });
}

/** A redis-server and one connected client, shared by the tests of one file. */
export interface FileRedis {
  readonly server: TestRedis;
  readonly redis: Redis;
}

/**
 * Starts a redis-server and connects a client before the file's tests, and stops both after:
 * read `server` and `redis` inside tests and hooks, not at the top level (they exist from `before`).
 */
export function redisForFile(): FileRedis {
  const live: { server?: TestRedis; redis?: Redis } = {};
  before(async () => {
    live.server = await startRedis();
    live.redis = new Redis(live.server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await live.redis.connect();
  });
  after(async () => {
    live.redis?.disconnect();
    await live.server?.stop();
  });
  return {
    get server() {
      return live.server!;
    },
    get redis() {
      return live.redis!;
    },
  };
}
