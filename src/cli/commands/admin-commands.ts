/**
 * CLI over the admin API: `status`, `scale`, `events`, `policy reload`, `pause`, `resume`,
 * `history export`. `--admin` and `--token` default from LUASCALE_ADMIN / LUASCALE_TOKEN, then from
 * the config file (admin.listen, admin.token). Tables by default, JSON with --json.
 * Exit codes: 0 ok, 1 the API refused (4xx) or a user error, 3 the admin API is unreachable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import type { Command } from 'commander';
import { LuascaleError } from '../../core/errors.js';
import { parseDuration, formatDuration } from '../../core/duration.js';
import { loadConfig } from '../../config/load-config.js';

interface ConnOpts {
  admin?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

/** Exit code when the admin API cannot be reached (luascale is not running there). */
export const EXIT_UNREACHABLE = 3;

/** Where the admin API is and how to authenticate, from flags, environment, then config. */
export function resolveConnection(o: ConnOpts): { base: string; token: string } {
  let base = o.admin ?? process.env.LUASCALE_ADMIN;
  let token = o.token ?? process.env.LUASCALE_TOKEN;
  const cfgFile = o.config ?? 'luascale.yaml';
  if ((!base || token === undefined) && existsSync(cfgFile)) {
    const { config } = loadConfig(cfgFile);
    base ??= `http://${config.admin.listen}`;
    token ??= config.admin.token;
  }
  base ??= 'http://127.0.0.1:9090';
  if (!/^https?:\/\//.test(base)) base = `http://${base}`;
  return { base: base.replace(/\/$/, ''), token: token ?? '' };
}

/** Calls the admin API; 4xx/5xx become one-line LuascaleErrors with the API's code. */
export async function callAdmin(o: ConnOpts, method: string, path: string, body?: unknown): Promise<any> {
  const { base, token } = resolveConnection(o);
  let res;
  try {
    res = await request(base + path, {
      method: method as any,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
  } catch (err) {
    const e = new LuascaleError('LS_ERR_CLI_USAGE', {
      reason: `cannot reach the admin API at ${base} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is luascale up running? (--admin URL)`,
    });
    (e as { exitCode?: number }).exitCode = EXIT_UNREACHABLE;
    throw e;
  }
  const text = await res.body.text();
  const json = text ? safeJson(text) : null;
  if (res.statusCode >= 400) {
    const msg = json?.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.statusCode}`;
    throw new LuascaleError('LS_ERR_CLI_USAGE', { reason: `${method} ${path}: ${msg}` });
  }
  return json;
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return { text };
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
    .option('--token <token>', 'bearer token (default: $LUASCALE_TOKEN, then admin.token of the config)')
    .option('-c, --config <file>', 'config to read admin.listen and admin.token from', 'luascale.yaml')
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
  return `${String(e.id).padStart(6)}  ${when}  ${e.service.padEnd(12)} ${e.type.padEnd(9)} ${what}\n`;
}

/** Registers the admin-API commands. */
export function register(program: Command): void {
  conn(
    program.command('status').description('Services with replicas, load, latency and the last decision'),
  ).action(async (o: ConnOpts) => {
    const services = await callAdmin(o, 'GET', '/v1/services');
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
          s.replicas.desired,
          s.replicas.ready,
          s.replicas.starting,
          s.replicas.draining,
          s.signals ? s.signals.rps.toFixed(1) : '-',
          s.signals ? s.signals.latency.p95.toFixed(0) : '-',
          s.signals ? s.signals.shed_rps.toFixed(1) : '-',
          s.signals ? s.signals.cpu.toFixed(0) : '-',
          s.lastReason ?? '-',
          s.alerts.length ? s.alerts.map((a: any) => a.name).join(',') : '-',
        ]),
      ),
    );
  });

  conn(
    program
      .command('scale')
      .description('Set a manual replica count (an override), optionally for a while; "auto" clears it')
      .argument('<service>')
      .argument('<replicas>', 'a count, or "auto" to clear the override')
      .option('--ttl <duration>', 'how long the override lasts, e.g. 10m'),
  ).action(async (service: string, replicas: string, o: ConnOpts & { ttl?: string }) => {
    if (replicas === 'auto') {
      await callAdmin(o, 'DELETE', `/v1/services/${encodeURIComponent(service)}/scale`);
      return out(o.json ? '{"ok":true}\n' : `${service}: override cleared; the policy decides again\n`);
    }
    const n = Number(replicas);
    if (!Number.isInteger(n) || n < 0)
      throw new LuascaleError('LS_ERR_CLI_USAGE', {
        reason: `replicas must be a whole number >= 0 or "auto", got "${replicas}"`,
      });
    if (o.ttl) parseDuration(o.ttl);
    await callAdmin(o, 'POST', `/v1/services/${encodeURIComponent(service)}/scale`, {
      replicas: n,
      ...(o.ttl ? { ttl: o.ttl } : {}),
    });
    out(
      o.json
        ? '{"ok":true}\n'
        : `${service}: fixed at ${n}${o.ttl ? ` for ${formatDuration(parseDuration(o.ttl))}` : ' until cleared (luascale scale ' + service + ' auto)'}\n`,
    );
  });

  for (const [verb, desc] of [
    ['pause', 'Pause scaling of a service (the count stays)'],
    ['resume', 'Resume scaling of a service'],
  ] as const) {
    conn(program.command(verb).description(desc).argument('<service>')).action(
      async (service: string, o: ConnOpts) => {
        await callAdmin(o, 'POST', `/v1/services/${encodeURIComponent(service)}/${verb}`);
        out(o.json ? '{"ok":true}\n' : `${service}: ${verb}d\n`);
      },
    );
  }

  conn(
    program
      .command('events')
      .description('Recorded events (decisions, scale actions, instances, alerts)')
      .option('--service <name>')
      .option('--limit <n>', 'how many', '50')
      .option('-f, --follow', 'keep printing new events (Server-Sent Events)'),
  ).action(async (o: ConnOpts & { service?: string; limit: string; follow?: boolean }) => {
    const q = new URLSearchParams({ limit: String(Math.min(1000, Number(o.limit) || 50)) });
    if (o.service) q.set('service', o.service);
    const page = await callAdmin(o, 'GET', `/v1/events?${q}`);
    for (const e of page.events) out(o.json ? JSON.stringify(e) + '\n' : fmtEvent(e));
    if (!o.follow) return;
    const { base, token } = resolveConnection(o);
    const res = await request(
      `${base}/v1/events/stream${o.service ? `?service=${encodeURIComponent(o.service)}` : ''}`,
      {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        bodyTimeout: 0,
      },
    );
    let buf = '';
    for await (const chunk of res.body) {
      buf += chunk.toString();
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const e = JSON.parse(data.slice(6));
        if (e.type === 'signals') continue;
        out(o.json ? JSON.stringify(e) + '\n' : fmtEvent(e));
      }
    }
  });

  const policy = program.command('policy').description('Policy operations on a running luascale');
  conn(
    policy
      .command('reload')
      .description(
        'Hot-reload a service policy from a Lua file (validated first; the old one stays on error)',
      )
      .argument('<service>')
      .argument('<file>'),
  ).action(async (service: string, file: string, o: ConnOpts) => {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch {
      throw new LuascaleError('LS_ERR_POLICY_NOT_FOUND', { file });
    }
    await callAdmin(o, 'PUT', `/v1/services/${encodeURIComponent(service)}/policy`, { source });
    out(o.json ? '{"ok":true}\n' : `${service}: now running ${file}\n`);
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
    const q = new URLSearchParams({ service: o.service, metric: o.metric, window: o.window });
    const s = await callAdmin(o, 'GET', `/v1/metrics/query?${q}`);
    if (o.json) return out(JSON.stringify(s) + '\n');
    const points: Array<[number, number]> = s.points;
    out(`t,${o.metric === 'rps' ? 'rps' : o.metric}\n`);
    if (points.length === 0) return;
    const t0 = points[0]![0];
    for (const [t, v] of points) out(`${Math.round(t - t0)},${+v.toFixed(4)}\n`);
  });
}
