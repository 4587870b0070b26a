/**
 * `npm run bench h2`: HTTP/2 and gRPC through luascale vs directly, beside the HTTP/1.1 figures.
 *
 * Layout on this 2-core machine: the upstreams (node http, node http2 h2c, a @grpc/grpc-js server),
 * h2load and the gRPC client share core 0; the gateway (http2 on, h1 upstream for HTTP, h2c for
 * gRPC) runs alone on core 1 (taskset), so it has one core.
 *   - h2load -t1 -c4 -m16 (HTTP/2) and --h1 -c50 (HTTP/1.1): requests per second through the gateway
 *     and direct to the upstream of the same protocol;
 *   - gRPC unary calls per second over one client connection (64 in flight), gateway vs direct.
 * The same file is the child entry: `node --import tsx bench/h2.bench.ts child upstream|gateway ...`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { Emit } from './run.js';

const self = fileURLToPath(import.meta.url);
const SECONDS = Number(process.env.BENCH_H2_SECONDS ?? 4);
const CALLS = Number(process.env.BENCH_H2_GRPC_CALLS ?? 20_000);
const id = (b: Buffer): Buffer => b;
const UNARY = {
  Unary: {
    path: '/bench.Echo/Unary',
    requestStream: false,
    responseStream: false,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  },
};

async function upstreamChild(): Promise<void> {
  const body = Buffer.from('ok');
  const h1 = http.createServer((_req, res) => res.end(body)).listen(0, '127.0.0.1');
  const h2 = http2.createServer((_req, res) => res.end(body)).listen(0, '127.0.0.1');
  const listening = Promise.all([once(h1, 'listening'), once(h2, 'listening')]);
  const server = new grpc.Server();
  server.addService(UNARY as unknown as grpc.ServiceDefinition, {
    Unary: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, body),
  });
  const g = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  await listening;
  const port = (s: http.Server | http2.Http2Server) => (s.address() as AddressInfo).port;
  process.stdout.write(JSON.stringify({ h1: port(h1), h2: port(h2), grpc: g }) + '\n');
}

async function gatewayChild(h1: number, g: number): Promise<void> {
  const { createGateway } = await import('../src/gateway/gateway.js');
  const gw = createGateway({
    http2: { max_concurrent_streams: 1000 },
    services: {
      web: { routes: [{ path_prefix: '/' }], instances: [{ id: 'a', url: `http://127.0.0.1:${h1}` }] },
      rpc: {
        routes: [{ path_prefix: '/bench.Echo' }],
        upstream: { protocol: 'h2c' },
        instances: [{ id: 'a', url: `http://127.0.0.1:${g}` }],
      },
    },
  });
  const addr = await gw.listen(0, '127.0.0.1');
  process.stdout.write(JSON.stringify({ port: addr.port }) + '\n');
}

function child(args: string[], core: number): { proc: ChildProcess; ready: Promise<Record<string, number>> } {
  const proc = spawn(
    'taskset',
    ['-c', String(core), process.execPath, '--import', 'tsx', self, 'child', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ready = new Promise<Record<string, number>>((resolve) =>
    proc.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as Record<string, number>)),
  );
  return { proc, ready };
}

/** h2load's "finished in …, N req/s" figure. */
function h2load(url: string, h1: boolean): number {
  const args = h1 ? ['--h1', '-c50', '-m1'] : ['-c4', '-m16'];
  const r = spawnSync(
    'taskset',
    ['-c', '0', 'h2load', '-t1', ...args, `-D${SECONDS}`, '--warm-up-time=1', url],
    {
      encoding: 'utf8',
    },
  );
  const m = /finished in [^,]+, ([\d.]+) req\/s/.exec(r.stdout);
  const failed = /(\d+) failed/.exec(r.stdout);
  if (m === null) throw new Error(`h2load: ${r.stdout}${r.stderr}`);
  if (failed && Number(failed[1]) > 0) throw new Error(`h2load: ${failed[1]} failed requests`);
  return Number(m[1]);
}

async function grpcRate(port: number): Promise<number> {
  const Client = grpc.makeGenericClientConstructor(UNARY as unknown as grpc.ServiceDefinition, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
    Unary: (b: Buffer, cb: (e: Error | null) => void) => void;
    close: () => void;
  };
  const call = () =>
    new Promise<void>((resolve, reject) =>
      client.Unary(Buffer.from('x'), (e) => (e ? reject(e) : resolve())),
    );
  for (let i = 0; i < 500; i++) await call(); // warm-up
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next++ < CALLS) await call();
    }),
  );
  const rate = CALLS / ((performance.now() - t0) / 1000);
  client.close();
  return Math.round(rate);
}

/** The bench entry (see the module comment). */
export default async function bench(emit: Emit): Promise<void> {
  const up = child(['upstream'], 0);
  const ports = await up.ready;
  const gw = child(['gateway', String(ports.h1), String(ports.grpc)], 1);
  const { port } = await gw.ready;
  try {
    const base = `http://127.0.0.1:${port}/`;
    const h2Gateway = h2load(base, false);
    const h2Direct = h2load(`http://127.0.0.1:${ports.h2}/`, false);
    const h1Gateway = h2load(base, true);
    const h1Direct = h2load(`http://127.0.0.1:${ports.h1}/`, true);
    emit({
      name: 'h2 requests/s through luascale',
      value: Math.round(h2Gateway),
      unit: 'req/s',
      direct: Math.round(h2Direct),
      h1_through_luascale: Math.round(h1Gateway),
      h1_direct: Math.round(h1Direct),
    });
    const viaGateway = await grpcRate(port);
    const direct = await grpcRate(ports.grpc);
    emit({ name: 'gRPC unary calls/s through luascale', value: viaGateway, unit: 'calls/s', direct });
  } finally {
    gw.proc.kill();
    up.proc.kill();
  }
}

if (process.argv[2] === 'child') {
  if (process.argv[3] === 'upstream') void upstreamChild();
  else void gatewayChild(Number(process.argv[4]), Number(process.argv[5]));
}
