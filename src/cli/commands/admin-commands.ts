/**
 * CLI over the admin API: `status`, `scale`, `events`, `policy reload`, `pause`, `resume`,
 * `history export`. Where the API is: `--admin`, else LUASCALE_ADMIN, else the config's admin.listen
 * (`-c`, default ./luascale.yaml when it exists), else 127.0.0.1:9090. The token: `--token`, else
 * LUASCALE_TOKEN, else the config's admin.token, but only when talking to that config's own admin.listen
 * (never sent to another host). Tables by default, JSON with --json.
 * Exit codes (see main.ts): 1 the API refused (4xx), 2 a bad argument, 3 unreachable or not a luascale
 * admin API, 70 an admin API 5xx.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import type { Command } from 'commander';
import { LuascaleError } from '../../core/errors.js';
import { parseCliDuration, formatDuration } from '../../core/duration.js';
import { loadConfig } from '../../config/load-config.js';
import { readJsonInput } from '../input.js';

interface ConnOpts {
  admin?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

/** Where the admin API is and the token to send there. */
export interface Connection {
  base: string;
  token: string;
}

const DEFAULT_CONFIG = 'luascale.yaml';
const DEFAULT_ADMIN = 'http://127.0.0.1:9090';

/** A usage error (exit 2) about one argument, flag or variable. */
function badArgument(arg: string, reason: string): LuascaleError {
  return new LuascaleError('LS_ERR_CLI_BAD_ARGUMENT', { arg, reason });
}

/** Parses an admin base URL (`host:port` or `http(s)://host:port[/prefix]`); a malformed one is a usage error. */
export function parseAdminUrl(value: string, arg = '--admin'): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  // `http//host`, `http:/host`, `https:host`: a mistyped scheme, not a host called "http".
  if (!hasScheme && /^https?(:|\/)/i.test(value))
    throw badArgument(arg, `"${value}": mistyped scheme (expected e.g. http://127.0.0.1:9090)`);
  const text = hasScheme ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badArgument(arg, `not a URL: "${value}" (expected e.g. http://127.0.0.1:9090)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badArgument(arg, `"${value}": only http:// and https:// are supported`);
  if (!url.hostname || url.username || url.password || url.search || url.hash || url.pathname.includes('//'))
    throw badArgument(
      arg,
      `"${value}": expected scheme://host:port[/path], without credentials, query or fragment`,
    );
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/i;
const WILDCARD = /^(0\.0\.0\.0|::|)$/;

/** The URL to reach a listener `host:port` at (a wildcard listener is reached on loopback). */
export function urlOfListen(listen: string): string {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) return parseAdminUrl(listen, 'admin.listen');
  const host = m[1] ?? m[2] ?? '';
  if (WILDCARD.test(host)) return `http://127.0.0.1:${m[3]}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${m[3]}`;
}

/** Whether `base` is the admin listener `listen` itself (so its config's token belongs there). */
export function isOwnListener(listen: string, base: string): boolean {
  const own = new URL(urlOfListen(listen));
  const url = new URL(base);
  if (url.protocol !== 'http:' || url.port !== own.port || url.pathname !== '/') return false;
  const host = (u: URL) => u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host(url) === host(own)) return true;
  // Loopback names are one machine; a wildcard listener was turned into 127.0.0.1 above.
  return LOOPBACK.test(host(url)) && LOOPBACK.test(host(own));
}

/** A token as an HTTP header carries it: surrounding whitespace (a CR/LF from a file) trimmed, visible ASCII only. */
export function cleanToken(token: string, arg: string): string {
  const t = token.trim();
  const bad = [...t].findIndex((ch) => ch < '!' || ch > '~');
  if (bad >= 0) {
    const cp = t.codePointAt(bad)!.toString(16).toUpperCase().padStart(4, '0');
    throw badArgument(
      arg,
      `malformed token: character ${bad + 1} is U+${cp}; a bearer token is visible ASCII only`,
    );
  }
  return t;
}

/**
 * Where the admin API is and how to authenticate, from flags, environment, then config. A config is
 * read only when it is needed: when no address is given, or when `-c` names one explicitly next to
 * an address (to use its token, and only if its admin.listen is that address).
 */
export function resolveConnection(o: ConnOpts, env: NodeJS.ProcessEnv = process.env): Connection {
  const adminArg = o.admin ?? (env.LUASCALE_ADMIN || undefined);
  const tokenFrom = o.token !== undefined ? '--token' : 'LUASCALE_TOKEN';
  let token = o.token ?? (env.LUASCALE_TOKEN || undefined);
  let tokenArg = tokenFrom;
  let base: string;
  if (adminArg !== undefined) {
    base = parseAdminUrl(adminArg, o.admin !== undefined ? '--admin' : 'LUASCALE_ADMIN');
    if (o.config !== undefined) {
      const { config } = loadConfig(o.config);
      if (token === undefined && isOwnListener(config.admin.listen, base)) {
        token = config.admin.token;
        tokenArg = `${o.config}: admin.token`;
      }
    }
  } else if (o.config !== undefined || existsSync(DEFAULT_CONFIG)) {
    // An explicit -c that does not exist fails here (LS_ERR_CONFIG_READ names it), never falls back.
    const file = o.config ?? DEFAULT_CONFIG;
    const { config } = loadConfig(file);
    base = urlOfListen(config.admin.listen);
    if (token === undefined) {
      token = config.admin.token;
      tokenArg = `${file}: admin.token`;
    }
  } else {
    base = DEFAULT_ADMIN;
  }
  return { base, token: token ? cleanToken(token, tokenArg) : '' };
}

/** undici's connection-level failures: the API is not there (as opposed to a bug in the request). */
function isNetworkError(err: unknown): boolean {
  const code = String((err as NodeJS.ErrnoException)?.code ?? '');
  return (
    code.startsWith('E') ||
    /^UND_ERR_(SOCKET|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|CLOSED|ABORTED)$/.test(code)
  );
}

function errorCode(err: unknown): string {
  return String((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? err);
}

/** An admin API error body: `{ error: { code, message } }` with a registry code that is not the gateway's. */
function apiError(json: any): { code: string; message: string } | null {
  const e = json?.error;
  if (typeof e?.code !== 'string' || typeof e?.message !== 'string') return null;
  // Any LS_ERR_ code (a newer server may know codes this CLI does not), but not the gateway's.
  if (!/^LS_ERR_[A-Z0-9_]+$/.test(e.code) || e.code.startsWith('LS_ERR_GATEWAY_')) return null;
  return e;
}

/** The start of a body, on one line, for a "this is not the admin API" message. */
function excerpt(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 80)}…` : one;
}

function notAdmin(base: string, reason: string): LuascaleError {
  return new LuascaleError('LS_ERR_CLI_NOT_ADMIN', { url: base, reason });
}

/** Sends one request; an unreachable API or a non-HTTP answer become one-line errors. */
async function send(c: Connection, method: string, path: string, body?: unknown, bodyTimeout = 10_000) {
  try {
    return await request(c.base + path, {
      method: method as 'GET',
      headers: {
        ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      headersTimeout: 10_000,
      bodyTimeout,
    });
  } catch (err) {
    const code = errorCode(err);
    if (code.startsWith('HPE_')) throw notAdmin(c.base, `not an HTTP answer: ${code}`);
    if (!isNetworkError(err)) throw err;
    throw new LuascaleError('LS_ERR_CLI_UNREACHABLE', { url: c.base, reason: code });
  }
}

/** Turns a failed answer into the admin API's own error, or says this is not the admin API. */
function failure(c: Connection, method: string, path: string, status: number, text: string): LuascaleError {
  const e = apiError(safeJson(text));
  if (!e) return notAdmin(c.base, `HTTP ${status} for ${method} ${path}${text ? `: ${excerpt(text)}` : ''}`);
  return new LuascaleError('LS_ERR_CLI_API', { method, path, code: e.code, reason: e.message, status });
}

/**
 * Calls the admin API. 4xx/5xx become one-line errors with the API's code; an answer that is not
 * the admin API's JSON says so; `valid` checks the shape of a success so a stranger's 200 is caught too.
 */
export async function callAdmin(
  o: ConnOpts,
  method: string,
  path: string,
  body?: unknown,
  valid: (json: any) => boolean = (j) => typeof j === 'object' && j !== null,
): Promise<any> {
  const c = resolveConnection(o);
  const res = await send(c, method, path, body);
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    if (!isNetworkError(err)) throw err;
    throw new LuascaleError('LS_ERR_CLI_UNREACHABLE', { url: c.base, reason: errorCode(err) });
  }
  if (res.statusCode >= 400) throw failure(c, method, path, res.statusCode, text);
  const type = String(res.headers['content-type'] ?? '');
  const json = safeJson(text);
  if (!type.includes('json') || json === undefined || !valid(json))
    throw notAdmin(
      c.base,
      `HTTP ${res.statusCode} for ${method} ${path} is not the expected JSON: ${excerpt(text) || '(empty)'}`,
    );
  return json;
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Aligned columns. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

const out = (s: string): void => void process.stdout.write(s);
const conn = (c: Command) =>
  c
    .option('--admin <url>', 'admin API base URL (default: $LUASCALE_ADMIN, then admin.listen of the config)')
    .option(
      '--token <token>',
      'bearer token (default: $LUASCALE_TOKEN, then admin.token of the config when talking to its own admin.listen)',
    )
    .option(
      '-c, --config <file>',
      'config to read admin.listen and admin.token from (default: ./luascale.yaml if it exists; with --admin, read only when given)',
    )
    .option('--json', 'print JSON');

function fmtEvent(e: any): string {
  const d = e.data ?? {};
  const when = new Date(e.at).toISOString().replace('T', ' ').slice(0, 19);
  let what: string;
  switch (e.type) {
    case 'decision':
      what = `${d.current} → ${d.replicas} ${d.reason}: ${d.message}`;
      break;
    case 'scale':
      what = `${d.direction} ${d.from} → ${d.to}`;
      break;
    case 'instance':
      what = `${d.id} ${d.state}${d.reason ? `: ${d.reason}` : ''}`;
      break;
    case 'alert':
      what = `${d.status ?? ''} [${d.severity ?? ''}] ${d.name}: ${d.message}`;
      break;
    default:
      what = JSON.stringify(d);
  }
  return `${String(e.id).padStart(6)}  ${when}  ${String(e.service).padEnd(12)} ${String(e.type).padEnd(9)} ${what}\n`;
}

/** A replica count as typed: plain decimal digits only (no `0x2`, `" 2"`, `1e1`, `2.0`). */
export function parseReplicas(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw badArgument('<replicas>', `must be a whole number >= 0 or "auto", got "${value}"`);
  return n;
}

/** `--limit`: a whole number 1..1000 (the API's page size). */
export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw badArgument('--limit', `must be a whole number from 1 to 1000, got "${value}"`);
  return Number(value);
}

/** `--since`: a duration back from `now` (10m, 2h) or an ISO 8601 time; returns epoch ms. */
export function parseSince(value: string, now: number): number {
  if (/^\d{4}-\d\d-\d\d/.test(value.trim())) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  } else {
    try {
      return now - parseCliDuration(value);
    } catch {
      // fall through to one message for both forms
    }
  }
  throw badArgument(
    '--since',
    `expected a duration back from now (10m, 2h, 1d) or an ISO time (2026-01-31T12:00:00Z), got "${value}"`,
  );
}

/** `--ttl` in ms: positive, at most a year. */
function parseTtl(value: string): number {
  try {
    return parseCliDuration(value);
  } catch (err) {
    throw badArgument('--ttl', (err as Error).message);
  }
}

/** `--after`: an event id. */
function parseAfter(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw badArgument('--after', `must be an event id (a whole number), got "${value}"`);
  return Number(value);
}

/** How `events -f` reconnects when the stream ends: a few attempts, doubling delays. Tests shorten them. */
export const followRetry = { attempts: 5, firstDelayMs: 500, maxDelayMs: 8000 };

/**
 * Follows `/v1/events/stream` from `after` (so nothing between the listing and the stream is lost),
 * printing each event once. When the stream ends or breaks it reconnects with `after=<last id>`;
 * after {@link followRetry}.attempts failures in a row it gives up with LS_ERR_CLI_UNREACHABLE.
 */
async function follow(c: Connection, service: string | undefined, after: number, print: (e: any) => void) {
  let lastId = after;
  let failures = 0;
  for (;;) {
    const q = new URLSearchParams({ ...(service ? { service } : {}), after: String(lastId) });
    const path = `/v1/events/stream?${q}`;
    let reason: string;
    let progressed = false;
    try {
      const res = await send(c, 'GET', path, undefined, 0);
      if (res.statusCode >= 400) throw failure(c, 'GET', path, res.statusCode, await res.body.text());
      if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.body.destroy();
        throw notAdmin(c.base, `HTTP ${res.statusCode} for GET ${path} is not an event stream`);
      }
      let buf = '';
      let blocks = 0;
      for await (const chunk of res.body) {
        buf += chunk.toString().replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          // The first block is the server's greeting; anything after it shows the connection works.
          if (++blocks > 1) progressed = true;
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (!data) continue;
          const e = safeJson(data);
          if (!e || e.type === 'signals' || typeof e.id !== 'number' || e.id <= lastId) continue;
          lastId = e.id;
          progressed = true;
          print(e);
        }
      }
      reason = 'the server ended the stream';
    } catch (err) {
      if (err instanceof LuascaleError && err.code !== 'LS_ERR_CLI_UNREACHABLE') throw err;
      if (!(err instanceof LuascaleError) && !isNetworkError(err)) throw err;
      reason = err instanceof LuascaleError ? String(err.details.reason) : errorCode(err);
    }
    if (progressed) failures = 0;
    if (failures >= followRetry.attempts)
      throw new LuascaleError('LS_ERR_CLI_UNREACHABLE', {
        url: c.base,
        reason: `event stream lost; ${failures} reconnect attempts failed, the last: ${reason}`,
      });
    await delay(Math.min(followRetry.maxDelayMs, followRetry.firstDelayMs * 2 ** failures));
    failures++;
  }
}

const isArray = (key: string) => (j: any) => Array.isArray(key ? j?.[key] : j);

/** Registers the admin-API commands. */
export function register(program: Command): void {
  conn(
    program.command('status').description('Services with replicas, load, latency and the last decision'),
  ).action(async (o: ConnOpts) => {
    const services = await callAdmin(o, 'GET', '/v1/services', undefined, isArray(''));
    if (o.json) return out(JSON.stringify(services) + '\n');
    out(
      table(
        [
          'SERVICE',
          'DESIRED',
          'READY',
          'STARTING',
          'DRAINING',
          'RPS',
          'P95 MS',
          'SHED/S',
          'CPU %',
          'LAST REASON',
          'ALERTS',
        ],
        services.map((s: any) => [
          s.name + (s.paused ? ' (paused)' : '') + (s.override ? ` (override ${s.override.replicas})` : ''),
          s.replicas?.desired ?? '-',
          s.replicas?.ready ?? '-',
          s.replicas?.starting ?? '-',
          s.replicas?.draining ?? '-',
          s.signals ? s.signals.rps.toFixed(1) : '-',
          s.signals ? s.signals.latency.p95.toFixed(0) : '-',
          s.signals ? s.signals.shed_rps.toFixed(1) : '-',
          s.signals ? s.signals.cpu.toFixed(0) : '-',
          s.lastReason ?? '-',
          s.alerts?.length ? s.alerts.map((a: any) => a.name).join(',') : '-',
        ]),
      ),
    );
    // Actuation failures (a scale_command exiting non-zero, a command not on PATH) under the table.
    for (const s of services as any[])
      if (s.actuationError)
        out(
          `${s.name}: ${s.actuationError.stage} failing (${s.actuationError.failures}×): ${s.actuationError.message}\n`,
        );
  });

  conn(
    program
      .command('scale')
      .description(
        'Set a manual replica count (an override, clamped to the service min/max), optionally for a while; "auto" clears it',
      )
      .argument('<service>')
      .argument('<replicas>', 'a whole number, or "auto" to clear the override')
      .option('--ttl <duration>', 'how long the override lasts, e.g. 10m (1ms to 365d)'),
  ).action(async (service: string, replicas: string, o: ConnOpts & { ttl?: string }) => {
    const path = `/v1/services/${encodeURIComponent(service)}/scale`;
    if (replicas === 'auto') {
      const r = await callAdmin(o, 'DELETE', path);
      return out(
        o.json ? JSON.stringify(r) + '\n' : `${service}: override cleared; the policy decides again\n`,
      );
    }
    const n = parseReplicas(replicas);
    const ttlMs = o.ttl === undefined ? undefined : parseTtl(o.ttl);
    const r = await callAdmin(o, 'POST', path, {
      replicas: n,
      ...(o.ttl !== undefined ? { ttl: o.ttl.trim() } : {}),
    });
    if (o.json) return out(JSON.stringify(r) + '\n');
    out(scaleMessage(service, n, ttlMs, r) + '\n');
  });

  for (const [verb, desc] of [
    ['pause', 'Pause scaling of a service (the count stays)'],
    ['resume', 'Resume scaling of a service'],
  ] as const) {
    conn(program.command(verb).description(desc).argument('<service>')).action(
      async (service: string, o: ConnOpts) => {
        const r = await callAdmin(o, 'POST', `/v1/services/${encodeURIComponent(service)}/${verb}`);
        out(o.json ? JSON.stringify(r) + '\n' : `${service}: ${verb}d\n`);
      },
    );
  }

  conn(
    program
      .command('events')
      .description(
        'Recorded events (decisions, scale actions, instances, alerts): the newest --limit, oldest first, like tail; ' +
          'with --since/--after the first --limit from that point',
      )
      .option('--service <name>', 'only this service')
      .option('--limit <n>', 'how many (1-1000)', '50')
      .option('--since <when>', 'from a time: a duration back from now (10m, 2h) or an ISO time')
      .option('--after <id>', 'after this event id (page on with the last id printed)')
      .option('-f, --follow', 'then keep printing new events (Server-Sent Events; reconnects)'),
  ).action(
    async (
      o: ConnOpts & { service?: string; limit: string; since?: string; after?: string; follow?: boolean },
    ) => {
      const limit = parseLimit(o.limit);
      const since = o.since === undefined ? undefined : parseSince(o.since, Date.now());
      const after = o.after === undefined ? undefined : parseAfter(o.after);
      const fromPoint = since !== undefined || after !== undefined;
      const q = new URLSearchParams({ limit: String(limit), order: fromPoint ? 'asc' : 'desc' });
      if (o.service !== undefined) q.set('service', o.service);
      if (since !== undefined) q.set('since', String(since));
      if (after !== undefined) q.set('after', String(after));
      const page = await callAdmin(o, 'GET', `/v1/events?${q}`, undefined, isArray('events'));
      // Chronological whichever order the page came in (desc gives the newest N).
      const events = [...page.events].sort((a: any, b: any) => a.id - b.id);
      const print = (e: any) => out(o.json ? JSON.stringify(e) + '\n' : fmtEvent(e));
      for (const e of events) print(e);
      if (!o.follow) return;
      const last = events.length ? events[events.length - 1].id : (after ?? 0);
      // With --since and nothing listed, the stream replays from the start of the store: skip older ones.
      await follow(resolveConnection(o), o.service, last, (e) => {
        if (since === undefined || e.at >= since) print(e);
      });
    },
  );

  const policy = program.command('policy').description('Policy operations on a running luascale');
  conn(
    policy
      .command('reload')
      .description(
        'Hot-reload a service policy from a Lua file or a built-in (trial-evaluated first; the old one stays on error)',
      )
      .argument('<service>')
      .argument('<policy>', 'a Lua file, or builtin:NAME')
      .option('--params <json>', 'parameters of a built-in, as JSON or @file.json'),
  ).action(async (service: string, file: string, o: ConnOpts & { params?: string }) => {
    let body: Record<string, unknown>;
    if (file.startsWith('builtin:')) {
      body = { builtin: file.slice('builtin:'.length) };
      if (o.params !== undefined) body.params = readJsonInput(o.params);
    } else {
      if (o.params !== undefined) throw badArgument('--params', 'only for builtin:NAME');
      let source: string;
      try {
        source = readFileSync(file, 'utf8');
      } catch {
        throw new LuascaleError('LS_ERR_POLICY_NOT_FOUND', { file });
      }
      body = { source, file };
    }
    const r = await callAdmin(o, 'PUT', `/v1/services/${encodeURIComponent(service)}/policy`, body);
    out(o.json ? JSON.stringify(r) + '\n' : `${service}: now running ${r.policy ?? file}\n`);
  });

  const history = program.command('history').description('Recorded metric history');
  conn(
    history
      .command('export')
      .description('Export a service request-rate history as a trace CSV (t,rps) for `luascale simulate`')
      .requiredOption('--service <name>')
      .option('--metric <name>', 'metric to export', 'rps')
      .option('--window <duration>', 'how far back', '1h'),
  ).action(async (o: ConnOpts & { service: string; metric: string; window: string }) => {
    try {
      parseCliDuration(o.window);
    } catch (err) {
      throw badArgument('--window', (err as Error).message);
    }
    const q = new URLSearchParams({ service: o.service, metric: o.metric, window: o.window });
    const s = await callAdmin(o, 'GET', `/v1/metrics/query?${q}`, undefined, isArray('points'));
    if (o.json) return out(JSON.stringify(s) + '\n');
    const points: Array<[number, number]> = s.points;
    out(`t,${o.metric === 'rps' ? 'rps' : o.metric}\n`);
    if (points.length === 0) return;
    const t0 = points[0]![0];
    for (const [t, v] of points) out(`${Math.round(t - t0)},${+v.toFixed(4)}\n`);
  });
}

/** What `scale` did, in words: the count, where it was clamped, for how long, and whether it waits for resume. */
export function scaleMessage(
  service: string,
  asked: number,
  ttlMs: number | undefined,
  r: { replicas?: number; clamped?: boolean; paused?: boolean; min?: number; max?: number },
): string {
  const n = typeof r.replicas === 'number' ? r.replicas : asked;
  let msg = `${service}: fixed at ${n}`;
  if (r.clamped || n !== asked) msg += ` (asked ${asked}, clamped to ${n > asked ? 'min' : 'max'} ${n})`;
  msg +=
    ttlMs !== undefined ? ` for ${formatDuration(ttlMs)}` : ` until cleared (luascale scale ${service} auto)`;
  if (r.paused) msg += `; scaling is paused, so this takes effect after \`luascale resume ${service}\``;
  return msg;
}
