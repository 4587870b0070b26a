/**
 * TLS termination for the gateway's listener: one certificate (`cert`, `key`) or several chosen by
 * SNI (`certificates`, matched against each certificate's DNS names, `*.` wildcards one label deep;
 * the first is the default), TLS 1.2 and 1.3 only, ALPN `h2` / `http/1.1` (RFC 7301), optional
 * client-certificate verification against a CA file (mTLS).
 *
 * Files are PEM and are re-read when they change (watch-files.ts: an atomic rename or a Kubernetes
 * `..data` symlink swap is seen too; mtime, ctime, inode or size changing). A new
 * set that loads is used for every new handshake from then on (`setSecureContext`, and the SNI table
 * read per handshake); connections already open keep theirs, so none is dropped. A set that does
 * not load (unreadable, not PEM, key not matching the certificate) leaves the old one in place and
 * is reported through `onReload` (the app raises an alert).
 *
 * States: loaded(v) → (file change) → loaded(v+1) | loaded(v) + reload error.
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { readPem } from './read-pem.js';
import { watchFiles } from './watch-files.js';

/** One certificate and its key (PEM file paths). */
export interface CertFiles {
  cert: string;
  key: string;
}

/** `gateway.tls` (and `admin.tls`): file paths, resolved by the caller. */
export interface TlsOptions {
  cert?: string;
  key?: string;
  /** Certificates chosen by SNI; the first is used when the client sends no known name. */
  certificates?: CertFiles[];
  /** mTLS: a client certificate signed by this CA (PEM file) is required. */
  client_ca?: string;
  /** How often the files are checked for changes, ms (default 1000). */
  reload_interval?: number;
  /** Each reload's outcome (`error` names the file and what is wrong). */
  onReload?: (r: { ok: boolean; error?: string }) => void;
}

/** A TLS server that never listens itself: the gateway hands it accepted sockets. */
export interface TlsFront {
  readonly server: tls.Server;
  /** Re-reads the files now (what the file watcher calls). */
  reload(): void;
  /** Stops watching the files. */
  close(): void;
}

interface Loaded {
  base: tls.SecureContextOptions;
  byName: Map<string, tls.SecureContext>;
  wildcards: Map<string, tls.SecureContext>;
}

const VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const;

/**
 * Builds the TLS server for `alpn` (e.g. ['h2', 'http/1.1']); throws a one-line error on bad files.
 * A handshake not done within `handshakeTimeoutMs` (node's default: 120 s) is cut, so a client that
 * connects and sends nothing, or half a ClientHello, holds its socket no longer than a slow header.
 */
export function createTlsFront(options: TlsOptions, alpn: string[], handshakeTimeoutMs = 120_000): TlsFront {
  const pairs = certFilesOf(options);
  let current = load(pairs, options);
  const server = tls.createServer({
    ...current.base,
    ...VERSIONS,
    ALPNProtocols: alpn,
    handshakeTimeout: handshakeTimeoutMs,
    requestCert: options.client_ca !== undefined,
    rejectUnauthorized: options.client_ca !== undefined,
    SNICallback(servername, cb) {
      // DNS names are case-insensitive; a fully qualified name's trailing dot (sent by some clients,
      // though RFC 6066 §3 leaves it out) names the same host
      const name = servername.toLowerCase().replace(/\.$/, '');
      const dot = name.indexOf('.');
      const ctx =
        current.byName.get(name) ?? (dot > 0 ? current.wildcards.get(name.slice(dot + 1)) : undefined);
      cb(null, ctx); // undefined: the server's default context
    },
  });
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  const reload = (): void => {
    try {
      const next = load(pairs, options);
      server.setSecureContext({ ...next.base, ...VERSIONS });
      current = next;
      options.onReload?.({ ok: true });
    } catch (err) {
      options.onReload?.({ ok: false, error: (err as Error).message });
    }
  };
  const files = pairs.flatMap((p) => [p.cert, p.key]).concat(options.client_ca ?? []);
  const stop = watchFiles(files, options.reload_interval ?? 1000, reload);
  return { server, reload, close: stop };
}

function certFilesOf(options: TlsOptions): CertFiles[] {
  const list = [...(options.certificates ?? [])];
  if (options.cert !== undefined && options.key !== undefined)
    list.unshift({ cert: options.cert, key: options.key });
  if (list.length === 0) throw new RangeError('tls: needs cert and key, or certificates');
  return list;
}

/** Reads every file and builds the contexts; throws naming the file that failed. */
function load(pairs: CertFiles[], options: TlsOptions): Loaded {
  const ca = options.client_ca === undefined ? undefined : readPem(options.client_ca, 'tls: ');
  const byName = new Map<string, tls.SecureContext>();
  const wildcards = new Map<string, tls.SecureContext>();
  let base: tls.SecureContextOptions | undefined;
  for (const p of pairs) {
    const opts: tls.SecureContextOptions = {
      cert: readPem(p.cert, 'tls: '),
      key: readPem(p.key, 'tls: '),
      ...(ca ? { ca } : {}),
    };
    let ctx: tls.SecureContext;
    let names: string[];
    try {
      ctx = tls.createSecureContext({ ...opts, ...VERSIONS });
      names = dnsNames(new X509Certificate(opts.cert as string));
    } catch (err) {
      throw new RangeError(`tls: ${p.cert} / ${p.key}: ${(err as Error).message}`);
    }
    base ??= opts;
    for (const n of names) {
      if (n.startsWith('*.')) wildcards.set(n.slice(2), ctx);
      else if (!byName.has(n)) byName.set(n, ctx);
    }
  }
  return { base: base!, byName, wildcards };
}

/** The certificate's DNS names (subjectAltName), else its CN. */
function dnsNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  const names = (san ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (names.length > 0) return names;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}
