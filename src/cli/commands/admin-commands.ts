/**
 * CLI over the admin API: `status`, `scale`, `events`, `policy reload`, `pause`, `resume`,
 * `history export`. Where the API is: `--admin`, else LUASCALE_ADMIN, else the config's admin.listen
 * (`-c`, default ./luascale.yaml when it exists), else 127.0.0.1:9090. The token: `--token`, else
 * LUASCALE_TOKEN, else the config's admin.token, but only when talking to that config's own admin.listen
 * (never sent to another host). Tables by default, JSON with --json.
 * Exit codes (see main.ts): 1 the API refused (4xx), 2 a bad argument, 3 unreachable or not a luascale
 * admin API, 70 an admin API 5xx.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { LuascaleError } from '../../core/errors.js';
import { parseCliDuration, formatDuration } from '../../core/duration.js';
import { badArgument } from '../bad-argument.js';
import { readJsonInput } from '../input.js';
import { table } from '../table.js';
import { parseAfter, parseLimit, parseReplicas, parseSince, parseTtl } from '../admin/admin-arguments.js';
import { callAdmin } from '../admin/call-admin.js';
import { withConnectionOptions, type ConnOpts } from '../admin/connection-options.js';
import { shedRate } from '../../signals/catalog.js';

const out = (s: string): void => void process.stdout.write(s);
const conn = withConnectionOptions;

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

const isArray = (key: string) => (j: any) => Array.isArray(key ? j?.[key] : j);

/** Registers the admin-API commands. */
export function register(program: Command): void {
  conn(
    program.command('status').description('Services with replicas, load, latency and the last decision'),
  ).action(async (o: ConnOpts) => {
    const services = await callAdmin(o, { method: 'GET', path: '/v1/services', valid: isArray('') });
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
          s.signals ? shedRate(s.signals).toFixed(1) : '-',
          typeof s.signals?.cpu === 'number' ? s.signals.cpu.toFixed(0) : '-',
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
      const r = await callAdmin(o, { method: 'DELETE', path });
      return out(
        o.json ? JSON.stringify(r) + '\n' : `${service}: override cleared; the policy decides again\n`,
      );
    }
    const n = parseReplicas(replicas);
    const ttlMs = o.ttl === undefined ? undefined : parseTtl(o.ttl);
    const r = await callAdmin(o, {
      method: 'POST',
      path,
      body: { replicas: n, ...(o.ttl !== undefined ? { ttl: o.ttl.trim() } : {}) },
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
        const r = await callAdmin(o, {
          method: 'POST',
          path: `/v1/services/${encodeURIComponent(service)}/${verb}`,
        });
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
      const page = await callAdmin(o, {
        method: 'GET',
        path: `/v1/events?${q}`,
        valid: isArray('events'),
      });
      // Chronological whichever order the page came in (desc gives the newest N).
      const events = [...page.events].sort((a: any, b: any) => a.id - b.id);
      const print = (e: any) => out(o.json ? JSON.stringify(e) + '\n' : fmtEvent(e));
      for (const e of events) print(e);
      if (!o.follow) return;
      const last = events.length ? events[events.length - 1].id : (after ?? 0);
      // With --since and nothing listed, the stream replays from the start of the store: skip older ones.
      const [{ resolveConnection }, { followEvents }] = await Promise.all([
        import('../admin/admin-connection.js'),
        import('../admin/follow-events.js'),
      ]);
      await followEvents(await resolveConnection(o), o.service, last, (e) => {
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
    const r = await callAdmin(o, {
      method: 'PUT',
      path: `/v1/services/${encodeURIComponent(service)}/policy`,
      body,
    });
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
    const s = await callAdmin(o, {
      method: 'GET',
      path: `/v1/metrics/query?${q}`,
      valid: isArray('points'),
    });
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
