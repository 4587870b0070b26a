/** `admin.tls`: the admin API behind TLS (the same reloading TLS front as the gateway's listener). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, after } from 'node:test';
import { buildAdminServer, type AdminBackend } from '../../src/admin/admin-server.js';
import { adminServerFactory } from '../../src/app/tls-http2-options.js';
import type { Config } from '../../src/config/index.js';
import { selfSignedCert } from '../helpers/self-signed-cert.js';

test('admin.tls: the admin API answers over TLS with the configured certificate, not in cleartext', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-admin-tls-'));
  selfSignedCert(dir, { file: 'a' });
  const config = { admin: { tls: { cert: 'a.crt', key: 'a.key' } } } as unknown as Config;
  const app = await buildAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: '',
    backend: {} as AdminBackend,
    dashboardDir: '',
    serverFactory: adminServerFactory(config, { baseDir: dir, log: () => {} }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  after(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  const status = await new Promise<number>((resolve, reject) =>
    https
      .get(
        {
          host: '127.0.0.1',
          port,
          path: '/openapi.json',
          servername: 'localhost',
          ca: readFileSync(join(dir, 'a.crt')),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      )
      .on('error', reject),
  );
  assert.equal(status, 200);
  await assert.rejects(
    new Promise((resolve, reject) =>
      http.get({ host: '127.0.0.1', port, path: '/openapi.json' }, resolve).on('error', reject),
    ),
  );
});
