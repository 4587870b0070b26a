/**
 * Certificate reload the ways files really change (tls-front.ts): a Kubernetes secret volume
 * (tls.crt → ..data/tls.crt, rotation swaps the `..data` symlink to a new directory, the files
 * themselves never written), files with their times kept, a cert and key replaced a moment apart, a
 * file deleted then recreated; and SNI names as clients send them (case, trailing dot).
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createTlsFront, type TlsFront } from '../../../src/gateway/tls/tls-front.js';
import { selfSignedCert, type TestCert } from '../../helpers/self-signed-cert.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-tls-reload-'));
const gens = ['gen-a', 'gen-b', 'gen-c', 'gen-d'].map((cn) =>
  selfSignedCert(dir, { cn, names: ['api.test'] }),
);
const other = selfSignedCert(dir, { cn: 'other', names: ['other.test', '*.wild.test'] });

describe('certificate reload and SNI', { timeout: 20_000 }, () => {
  const reloads = new EventEmitter();
  let front: TlsFront;
  let server: net.Server;
  let port: number;
  let version = 0;
  const crt = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');

  /** A new `..<n>` directory with the pair (times set when given), then `..data` swapped to it. */
  const rotate = (pair: { cert: string; key: string }, times?: Date): void => {
    const d = join(dir, `..gen_${++version}`);
    mkdirSync(d);
    writeFileSync(join(d, 'tls.crt'), pair.cert);
    writeFileSync(join(d, 'tls.key'), pair.key);
    if (times !== undefined) for (const f of ['tls.crt', 'tls.key']) utimesSync(join(d, f), times, times);
    symlinkSync(`..gen_${version}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  const nextReload = async (): Promise<{ ok: boolean; error?: string }> => {
    const [r] = (await once(reloads, 'reload')) as [{ ok: boolean; error?: string }];
    return r;
  };
  const cn = async (servername: string): Promise<string> => {
    const s = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false });
    try {
      await once(s, 'secureConnect');
      return String(s.getPeerCertificate().subject.CN);
    } finally {
      s.destroy();
    }
  };

  before(async () => {
    rotate(gens[0]!);
    symlinkSync('..data/tls.crt', crt);
    symlinkSync('..data/tls.key', key);
    front = createTlsFront(
      {
        certificates: [
          { cert: crt, key },
          { cert: other.certFile, key: other.keyFile },
        ],
        reload_interval: 100, // a swap's two files are seen within one debounce (100 ms)
        onReload: (r) => reloads.emit('reload', r),
      },
      ['h2', 'http/1.1'],
    );
    front.server.on('secureConnection', (s: tls.TLSSocket) => s.end());
    server = net.createServer((s) => void front.server.emit('connection', s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    front.close();
    server.close();
  });

  it('reloads when Kubernetes swaps the ..data symlink of a mounted secret', async () => {
    assert.equal(await cn('api.test'), 'gen-a');
    const reloaded = nextReload();
    rotate(gens[1]!);
    assert.deepEqual(await reloaded, { ok: true });
    assert.equal(await cn('api.test'), 'gen-b');
  });

  it(
    'reloads files swapped in with the same modification time (cp -p, tar, rsync -a)',
    { timeout: 3000 },
    async () => {
      // the files in place get a whole-second time first (a Date holds ms only, mtimeMs more)
      const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
      const touched = nextReload();
      for (const f of [crt, key]) utimesSync(f, t, t);
      assert.deepEqual(await touched, { ok: true });
      const reloaded = nextReload();
      rotate(gens[2]!, t);
      assert.equal(statSync(crt).mtimeMs, t.getTime());
      assert.deepEqual(await reloaded, { ok: true });
      assert.equal(await cn('api.test'), 'gen-c');
    },
  );

  it('keeps the old pair while the cert and key do not match, and takes the new one once they do', async () => {
    const d: TestCert = gens[3]!;
    const half = nextReload();
    rotate({ cert: d.cert, key: gens[2]!.key });
    const r = await half;
    assert.equal(r.ok, false);
    assert.match(r.error!, /tls\.crt/);
    assert.equal(await cn('api.test'), 'gen-c');
    const whole = nextReload();
    rotate(d);
    assert.deepEqual(await whole, { ok: true });
    assert.equal(await cn('api.test'), 'gen-d');
  });

  it('a file deleted then recreated: an error meanwhile, the new file once it is back', async () => {
    const gone = nextReload();
    rmSync(join(dir, '..data'));
    const r = await gone;
    assert.equal(r.ok, false);
    assert.match(r.error!, /cannot read .*tls\.(crt|key): ENOENT/);
    assert.equal(await cn('api.test'), 'gen-d');
    const back = nextReload();
    symlinkSync(`..gen_2`, join(dir, '..data'));
    assert.deepEqual(await back, { ok: true });
    assert.equal(await cn('api.test'), 'gen-b');
  });

  it('matches SNI names whatever their case and with a trailing dot', async () => {
    assert.equal(await cn('other.test'), 'other');
    assert.equal(await cn('OTHER.Test'), 'other');
    assert.equal(await cn('other.test.'), 'other');
    assert.equal(await cn('X.Wild.Test.'), 'other');
    assert.equal(await cn('unknown.test'), 'gen-b');
  });
});
