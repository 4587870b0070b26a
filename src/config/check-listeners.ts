/**
 * Checks of the listen addresses that need more than the schema: the admin API on a non-loopback
 * address must have a token, it must not share the gateway's address, and every listener's host
 * must resolve. `luascale up` runs them
 * before it opens anything (no port is bound when they fail) and `luascale check` reports them,
 * both as config issues naming the file, the path and the line.
 */
import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { configError, type ConfigIssue, type LoadedConfig } from './load-config.js';

/** True for 127.0.0.0/8, ::1 and localhost (the admin API's rule for running without a token). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** `host:port` or `[v6]:port` → host, or undefined when the form is wrong (the schema reports that). */
function hostOf(listen: string): string | undefined {
  return /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen)?.[1];
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * True when two listeners would need the same socket: the same port (not 0, which picks a free
 * one) on the same host, or on any host when either listens on every address.
 */
export function sameSocket(a: string, b: string): boolean {
  const ma = /^\[?([^\]]*?)\]?:(\d+)$/.exec(a);
  const mb = /^\[?([^\]]*?)\]?:(\d+)$/.exec(b);
  if (!ma || !mb || Number(ma[2]) === 0 || Number(ma[2]) !== Number(mb[2])) return false;
  const [ha, hb] = [ma[1]!.toLowerCase(), mb[1]!.toLowerCase()];
  return ha === hb || WILDCARDS.has(ha) || WILDCARDS.has(hb);
}

/** The listen addresses in effect when they differ from the config's (tests listen on port 0). */
export interface ListenOverrides {
  gatewayListen?: string;
  adminListen?: string;
}

/** The problems with a loaded config's listeners; [] when there are none. */
export async function listenerIssues(
  loaded: LoadedConfig,
  overrides: ListenOverrides = {},
): Promise<ConfigIssue[]> {
  const { config, file } = loaded;
  const lineOf = lineFinder(file);
  const issues: ConfigIssue[] = [];
  const admin = overrides.adminListen ?? config.admin.listen;
  const adminHost = hostOf(admin);
  if (adminHost !== undefined && !isLoopbackHost(adminHost) && !config.admin.token) {
    // Point at the token when the key is there but empty (an unset ${VAR:-}), else at the listener.
    const tokenLine = lineOf(['admin', 'token']);
    issues.push({
      file,
      line: tokenLine ?? lineOf(['admin', 'listen']) ?? lineOf(['admin']) ?? 1,
      path: tokenLine ? 'admin.token' : 'admin.listen',
      message: `${admin} is not a loopback address and admin.token is empty: set admin.token (e.g. token: "\${LUASCALE_TOKEN}") or listen on 127.0.0.1`,
    });
  }
  const listeners: Array<[string[], string]> = [
    [['gateway', 'listen'], overrides.gatewayListen ?? config.gateway.listen],
    [['admin', 'listen'], admin],
  ];
  const gateway = overrides.gatewayListen ?? config.gateway.listen;
  if (sameSocket(gateway, admin)) {
    issues.push({
      file,
      line: lineOf(['admin', 'listen']) ?? lineOf(['admin']) ?? 1,
      path: 'admin.listen',
      message: `${admin} is also gateway.listen (${gateway}): give the admin API an address of its own`,
    });
  }
  await Promise.all(
    listeners.map(async ([path, listen]) => {
      const host = hostOf(listen);
      if (host === undefined || isIP(host) || host === 'localhost') return;
      try {
        await lookup(host);
      } catch (err) {
        issues.push({
          file,
          line: lineOf(path) ?? lineOf([path[0]!]) ?? 1,
          path: path.join('.'),
          message: `host "${host}" does not resolve (${(err as NodeJS.ErrnoException).code ?? err})`,
        });
      }
    }),
  );
  return issues.sort((a, b) => a.line - b.line);
}

/** Throws LS_ERR_CONFIG_INVALID when listenerIssues finds any. */
export async function checkListeners(loaded: LoadedConfig, overrides: ListenOverrides = {}): Promise<void> {
  const issues = await listenerIssues(loaded, overrides);
  if (issues.length > 0) throw configError(loaded.file, issues);
}

/** Line of a YAML path in the config file (1-based), or undefined when the key is not there. */
export function lineFinder(file: string): (path: string[]) => number | undefined {
  let doc: ReturnType<typeof parseDocument> | undefined;
  const lines = new LineCounter();
  try {
    doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines });
  } catch {
    // A config built in memory (tests) has no file: issues then point at line 1.
  }
  return (path) => {
    const node = doc?.getIn(path, true) as Node | undefined;
    return node?.range ? lines.linePos(node.range[0]).line : undefined;
  };
}
