/**
 * The one pre-flight of a config that `luascale up` runs before it opens, adopts or binds anything
 * and that `luascale check` reports, so the two agree (issue 17 item 6): the listener checks of
 * src/config/check-listeners.ts (a non-loopback admin without a token, admin = gateway, hosts that
 * do not resolve), a port out of range, a missing OpenAPI file, a missing provider `cwd`, a process
 * or exec command that is not on PATH (resolved as the spawn would, relative to its cwd), and two
 * services on the same route (same host, path and method). Each problem is a config issue naming
 * the file, the line and the path. A port in use is checked after these (src/app/check-ports.ts).
 */
import { apiFileOf, importServiceApi } from './import-service-api.js';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { configError, type ConfigIssue, type LoadedConfig } from '../config/load-config.js';
import { lineFinder, listenerIssues, type ListenOverrides } from '../config/check-listeners.js';

/** Every problem the pre-flight finds (port in use aside), sorted by line; [] when there is none. */
export async function preflightIssues(
  loaded: LoadedConfig,
  overrides: ListenOverrides = {},
): Promise<ConfigIssue[]> {
  const { config, file, baseDir } = loaded;
  const lineOf = lineFinder(file);
  const at = (path: string[]): number => {
    for (let n = path.length; n > 0; n--) {
      const line = lineOf(path.slice(0, n));
      if (line !== undefined) return line;
    }
    return 1;
  };
  const issue = (path: string[], message: string): ConfigIssue => ({
    file,
    line: at(path),
    path: path.join('.'),
    message,
  });
  const issues: ConfigIssue[] = [];

  // Ports: the schema's pattern takes 1 to 5 digits, so 99999 gets here.
  const listeners: Array<[string[], string]> = [
    [['gateway', 'listen'], overrides.gatewayListen ?? config.gateway.listen],
    [['admin', 'listen'], overrides.adminListen ?? config.admin.listen],
  ];
  for (const [path, listen] of listeners) {
    const port = Number(/:(\d+)$/.exec(listen)?.[1]);
    if (port > 65_535) issues.push(issue(path, `port ${port} is out of range (0 to 65535)`));
  }
  issues.push(...(await listenerIssues(loaded, overrides)));

  const routes: RouteKey[] = [];
  for (const [name, svc] of Object.entries(config.services)) {
    const base = ['services', name];
    const api = apiFileOf(svc, baseDir);
    if (api) {
      const doc = api.file;
      const kind = api.key === 'openapi' ? 'OpenAPI document' : '.proto file';
      if (!isFile(doc)) issues.push(issue([...base, api.key], `${kind} ${doc} not found`));
      else {
        try {
          for (const op of (await importServiceApi(name, svc, baseDir))!.operations)
            routes.push({ service: name, path: [...base, api.key], exact: op.path, methods: [op.method] });
        } catch {
          // A broken document: `up` and `check` report it when they import it (LS_ERR_OPENAPI_*).
        }
      }
    }
    // The default route (`path_prefix: /`, no `routes:` key) of two services overlaps too, but
    // configs that scale several services behind one gateway rely on it: only written routes count.
    const implicit = lineOf([...base, 'routes']) === undefined;
    svc.routes.forEach((r, i) =>
      routes.push({
        implicit,
        service: name,
        path: [...base, 'routes', String(i)],
        host: r.host,
        exact: r.path,
        prefix: r.path_prefix,
        methods: r.methods,
      }),
    );
    const p = svc.provider;
    const commands: Array<{
      kind: 'process' | 'exec';
      key: string;
      argv: readonly string[];
      cwd?: string;
      env?: Record<string, string>;
    }> = [];
    if ('process' in p)
      commands.push({
        kind: 'process',
        key: 'command',
        argv: p.process.command,
        cwd: p.process.cwd,
        env: p.process.env,
      });
    if ('exec' in p)
      for (const key of ['scale_command', 'list_command'] as const)
        commands.push({ kind: 'exec', key, argv: p.exec[key], cwd: p.exec.cwd, env: p.exec.env });
    for (const c of commands) {
      const dir = resolve(baseDir, c.cwd ?? '.');
      const provider = [...base, 'provider', c.kind];
      if (!isDirectory(dir)) {
        // One line for the cwd, not one per command that would run in it.
        if (!issues.some((i) => i.path === [...provider, 'cwd'].join('.')))
          issues.push(issue([...provider, 'cwd'], `directory ${dir} does not exist`));
        continue;
      }
      const cmd = c.argv[0];
      if (cmd === undefined || findExecutable(cmd, dir, c.env?.PATH ?? process.env.PATH ?? '')) continue;
      issues.push(
        issue(
          [...provider, c.key],
          cmd.includes('/')
            ? `${resolve(dir, cmd)} is not an executable file`
            : `command "${cmd}" is not on PATH`,
        ),
      );
    }
  }
  issues.push(...routeConflicts(routes).map(([a, b]) => issue(b.path, conflictMessage(a, b))));
  return issues.sort((a, b) => a.line - b.line);
}

/** Throws LS_ERR_CONFIG_INVALID when preflightIssues finds any. */
export async function preflight(loaded: LoadedConfig, overrides: ListenOverrides = {}): Promise<void> {
  const issues = await preflightIssues(loaded, overrides);
  if (issues.length > 0) throw configError(loaded.file, issues);
}

/** A route of a service, from its config `routes` or an OpenAPI operation. */
interface RouteKey {
  service: string;
  path: string[];
  host?: string;
  exact?: string;
  prefix?: string;
  methods?: readonly string[];
  /** The schema's default catch-all, not written in the config. */
  implicit?: boolean;
}

/** Pairs of routes of different services that match the same requests ([first, second]). */
function routeConflicts(routes: RouteKey[]): Array<[RouteKey, RouteKey]> {
  const out: Array<[RouteKey, RouteKey]> = [];
  // `{id}` and `{name}` match the same segments.
  const norm = (p: string | undefined) => p?.replace(/\{[^/{}]+\}/g, '{}');
  for (let j = 0; j < routes.length; j++) {
    const b = routes[j]!;
    const a = routes.slice(0, j).find(
      (a) =>
        a.service !== b.service &&
        !(a.implicit && b.implicit) &&
        (a.host ?? '').toLowerCase() === (b.host ?? '').toLowerCase() &&
        norm(a.exact) === norm(b.exact) &&
        a.prefix === b.prefix &&
        // No `methods` = every method, which overlaps any list.
        (!a.methods || !b.methods || a.methods.some((m) => b.methods!.includes(m))),
    );
    if (a) out.push([a, b]);
  }
  return out;
}

function conflictMessage(a: RouteKey, b: RouteKey): string {
  const what = [
    b.host ? `host ${b.host}` : '',
    b.exact ? `path ${b.exact}` : b.prefix ? `path_prefix ${b.prefix}` : 'every path',
    b.methods && a.methods ? b.methods.filter((m) => a.methods!.includes(m)).join(',') : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `services ${a.service} (${a.path.join('.')}) and ${b.service} both route ${what}: give one of them a different host, path or method`;
}

/** True when `cmd` resolves to an executable file as spawn resolves it (a `/` in it: relative to `cwd`). */
export function findExecutable(cmd: string, cwd: string, path: string): boolean {
  if (cmd.includes('/')) return isExecutable(isAbsolute(cmd) ? cmd : resolve(cwd, cmd));
  return path
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => isExecutable(join(resolve(cwd, dir), cmd)));
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
