/**
 * Active health checks with the standard grpc.health.v1.Health/Check over h2c: an instance that
 * answers NOT_SERVING is ejected, and comes back when it answers SERVING again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway/gateway.js';
import type { HealthEvent } from '../../../src/gateway/upstream-pool.js';
import { GRPC_HEALTH_PATH } from '../../../src/gateway/grpc/grpc-health.js';
import { startGateway } from '../helpers.js';
import { startEchoServer, type EchoServer } from './grpc-fixtures.js';

describe('gRPC health checks', () => {
  let server: EchoServer;
  let gw: Gateway;
  before(async () => {
    server = await startEchoServer('a');
    ({ gw } = await startGateway({
      http2: {},
      services: {
        echo: {
          routes: [{ path_prefix: '/demo.Echo' }],
          upstream: { protocol: 'h2c' },
          health: {
            path: GRPC_HEALTH_PATH,
            interval: 50,
            timeout: 500,
            unhealthy_threshold: 1,
            base_ejection: 50,
          },
          instances: [{ id: 'a', url: server.url }],
        },
      },
    }));
  });
  after(async () => {
    await gw.close({ graceMs: 100 });
    await server.close();
  });

  it('ejects an instance whose Check says NOT_SERVING and brings it back on SERVING', async () => {
    assert.equal(gw.instances('echo')[0]!.health, 'healthy');
    server.serving = false;
    const [down] = (await once(gw.events, 'health')) as [HealthEvent];
    assert.equal(down.status, 'ejected');
    server.serving = true;
    let ev = down;
    while (ev.status !== 'healthy') [ev] = (await once(gw.events, 'health')) as [HealthEvent];
    assert.equal(gw.instances('echo')[0]!.health, 'healthy');
  });
});
