/** A self-signed P-256 certificate made with the openssl CLI, for tests of TLS listeners. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and key written to `dir` as `<file>.crt` / `<file>.key`, paths and PEM text. */
export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** Issues `CN=cn` for DNS `names` (default: the CN), valid one day, into `dir`. */
export function selfSignedCert(
  dir: string,
  o: { cn?: string; names?: string[]; file?: string } = {},
): TestCert {
  const cn = o.cn ?? 'localhost';
  const names = o.names ?? [cn];
  const certFile = join(dir, `${o.file ?? cn}.crt`);
  const keyFile = join(dir, `${o.file ?? cn}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1']
      .concat(['-subj', `/CN=${cn}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`])
      .concat(['-keyout', keyFile, '-out', certFile]),
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
