/**
 * Before `luascale up` opens its store, adopts instances or starts anything: each listen address
 * is bound for a moment and released, so a port in use stops the start in one line that names the
 * key and the address (LS_ERR_CONFIG_LISTEN) with nothing bound and no instance started. When
 * what holds the port answers like luascale (its admin API's OpenAPI title, a gateway's `LS_ERR_`
 * error body or `Via: … luascale`), the line says "another luascale?": the usual cause is a second
 * `up` in the same folder.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { LuascaleError } from '../core/errors.js';
import { lineFinder, type ListenOverrides } from '../config/check-listeners.js';
import type { LoadedConfig } from '../config/load-config.js';

/** What a failed bind means to a person, by errno. */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'no such local address',
};

/** `host:port` or `[v6]:port` → [host, port]; undefined for a form the schema reports. */
function split(listen: string): [string, number] | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen);
  return m ? [m[1]!, Number(m[2])] : undefined;
}

/** Binds host:port exclusively and releases it; resolves to the errno code, or undefined when free. */
function tryBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Who answers on host:port: 'admin' (a luascale admin API), 'gateway' (a luascale gateway), or
 * undefined (something else, or nothing within a second).
 */
export function probeLuascale(host: string, port: number): Promise<'admin' | 'gateway' | undefined> {
  return new Promise((resolve) => {
    const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    const req = request(
      { host: connectHost, port, path: '/openapi.json', method: 'GET', timeout: 1000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 65_536) body += c;
        });
        res.on('end', () => {
          const via = String(res.headers.via ?? '');
          try {
            const json = JSON.parse(body) as { info?: { title?: string }; error?: { code?: string } };
            if (json.info?.title === 'luascale admin API') return resolve('admin');
            const code = json.error?.code ?? '';
            if (code.startsWith('LS_ERR_ADMIN_')) return resolve('admin');
            if (code.startsWith('LS_ERR_')) return resolve('gateway');
          } catch {
            // not JSON: only the Via header can tell
          }
          resolve(/\bluascale\b/i.test(via) ? 'gateway' : undefined);
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The LS_ERR_CONFIG_LISTEN error for a listener that could not bind (`code` is the errno). */
export async function listenError(
  loaded: Pick<LoadedConfig, 'file'>,
  key: 'gateway.listen' | 'admin.listen',
  listen: string,
  code: string,
): Promise<LuascaleError> {
  let reason = REASONS[code] ?? code;
  const addr = split(listen);
  if (code === 'EADDRINUSE' && addr) {
    const who = await probeLuascale(addr[0], addr[1]);
    if (who) reason += ` (another luascale? its ${who === 'admin' ? 'admin API' : 'gateway'} answers there)`;
  }
  const line = lineFinder(loaded.file)(key.split('.')) ?? 1;
  return new LuascaleError('LS_ERR_CONFIG_LISTEN', {
    file: loaded.file,
    line,
    path: key,
    address: listen,
    reason,
  });
}

/** Throws LS_ERR_CONFIG_LISTEN when gateway.listen or admin.listen cannot be bound now. */
export async function checkPortsFree(loaded: LoadedConfig, overrides: ListenOverrides = {}): Promise<void> {
  const listeners: Array<['gateway.listen' | 'admin.listen', string]> = [
    ['gateway.listen', overrides.gatewayListen ?? loaded.config.gateway.listen],
    ['admin.listen', overrides.adminListen ?? loaded.config.admin.listen],
  ];
  for (const [key, listen] of listeners) {
    const addr = split(listen);
    if (!addr || addr[1] === 0) continue; // port 0 picks a free port
    const code = await tryBind(addr[0], addr[1]);
    if (code) throw await listenError(loaded, key, listen, code);
  }
}
