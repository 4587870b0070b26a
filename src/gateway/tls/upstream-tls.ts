/**
 * TLS towards `https://` instances (`upstream.tls`): the CA and client certificate, and their files
 * watched so a rotated set reaches new connections (watch-files.ts, as the listener's certificates).
 */
import tls from 'node:tls';
import { readPem } from './read-pem.js';
import { watchFiles } from './watch-files.js';

/** TLS material towards `https://` instances (PEM contents, or file paths in UpstreamTlsFiles). */
export interface UpstreamTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The files `upstream.tls` was read from, how often to look at them, and each reload's outcome. */
export interface UpstreamTlsFiles extends UpstreamTls {
  reload_interval?: number;
  onReload?: (r: { ok: boolean; error?: string }) => void;
}

/** Watches `files` (if any) and hands each set that loads to `apply`; returns the stop. */
export function watchUpstreamTls(
  files: UpstreamTlsFiles | undefined,
  apply: (tls: UpstreamTls) => void,
): () => void {
  const paths = [files?.ca, files?.cert, files?.key].filter((f): f is string => f !== undefined);
  if (files === undefined || paths.length === 0) return () => {};
  return watchFiles(paths, files.reload_interval ?? 1000, () => {
    try {
      apply(load(files, paths));
      files.onReload?.({ ok: true });
    } catch (err) {
      files.onReload?.({ ok: false, error: (err as Error).message });
    }
  });
}

/** Reads the set; a key that does not match its certificate, or a file that is not PEM, fails here, not per connection. */
function load(files: UpstreamTlsFiles, paths: string[]): UpstreamTls {
  const next: UpstreamTls = {};
  for (const k of ['ca', 'cert', 'key'] as const) if (files[k] !== undefined) next[k] = readPem(files[k]);
  try {
    tls.createSecureContext(next);
  } catch (err) {
    throw new RangeError(`${paths.join(', ')}: ${(err as Error).message}`);
  }
  return next;
}
