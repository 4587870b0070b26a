/**
 * Maps `gateway.http2`, `gateway.tls` and each service's `upstream.protocol` / `upstream.tls` onto
 * the gateway's options (issue 21). File paths are relative to the config file; the listener's
 * certificates are read (and re-read on change) by the gateway; the upstream ones are read here
 * (a bad file stops the start) and re-read on change by each service's pool.
 */
import http from 'node:http';
import { resolve } from 'node:path';
import type { Config } from '../config/index.js';
import type { FastifyServerFactory } from 'fastify';
import { systemClock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import type { GatewayOptions } from '../gateway/gateway.js';
import { attachFrontOf, type TlsOptions } from '../gateway/http2/front-of.js';
import { readPem } from '../gateway/tls/read-pem.js';
import type { AlertNotice } from '../controller/alert-engine.js';
import { logNotifier, webhookNotifier, type AlertNotifier } from '../controller/alert-notifier.js';

/** What the mapping needs from the app: where files are, the log, and the alert notifiers. */
export interface TlsHttp2Context {
  baseDir: string;
  log: (line: string) => void;
  /** Raises (and later resolves) an alert through the app's notifiers (log, webhook). */
  alert?: (notice: AlertNotice) => void;
}

/**
 * A listener's (or a service's upstream) certificate reloads as an alert: a failed reload fires `CertificateReloadFailed`
 * (the previous certificates stay in use), the next good one resolves it. One notice per change of
 * state, as Alertmanager expects (it repeats on its own).
 */
export function certReloadAlert(
  listener: string,
  ctx: TlsHttp2Context,
  service = listener,
): (r: { ok: boolean; error?: string }) => void {
  let firing: AlertNotice['alert'] | undefined;
  // Without notifiers (tests, tools), the log is the alert.
  const notify = ctx.alert ?? ((n: AlertNotice) => ctx.log(`alert ${n.status}: ${n.alert.message}`));
  return (r) => {
    if (r.ok) {
      if (firing !== undefined)
        notify({ status: 'resolved', repeat: false, alert: { ...firing, endsAt: Date.now() } });
      firing = undefined;
      return;
    }
    const message = `${listener} TLS certificates not reloaded, the previous ones stay: ${r.error}`;
    if (firing !== undefined) return ctx.log(`alert still firing: ${message}`);
    firing = {
      service,
      name: 'CertificateReloadFailed',
      severity: 'critical',
      message,
      startsAt: Date.now(),
    };
    notify({ status: 'firing', repeat: false, alert: firing });
  };
}

/**
 * The context each gateway worker of `workers: N` maps the config with: every worker terminates
 * TLS and watches and reloads the certificates itself, so it logs (stderr, naming itself) and
 * raises a failed reload through its own notifiers (the log and `alerts.webhook`): once per worker.
 */
export function workerTlsHttp2Context(config: Config, baseDir: string): TlsHttp2Context {
  const log = (line: string): void => void process.stderr.write(`gateway worker ${process.pid}: ${line}\n`);
  const notifiers: AlertNotifier[] = [logNotifier(log)];
  const url = config.alerts?.webhook;
  if (url) notifiers.push(webhookNotifier({ url, onError: (err) => log(`alert webhook: ${err.message}`) }));
  return { baseDir, log, alert: (notice) => notifiers.forEach((n) => void n([notice])) };
}

/** Adds HTTP/2, TLS and upstream protocols from `config` to `options` (a new object). */
export function withTlsHttp2(options: GatewayOptions, config: Config, ctx: TlsHttp2Context): GatewayOptions {
  const g = config.gateway;
  const at = (f: string): string => resolve(ctx.baseDir, f);
  const out: GatewayOptions = { ...options, services: { ...options.services } };
  if (g.http2.enabled) {
    const perSecond = (max: number) => ({ max, windowMs: 1000 });
    out.http2 = {
      max_concurrent_streams: g.http2.max_concurrent_streams,
      guard: {
        resets: perSecond(g.http2.max_resets_per_second),
        pings: perSecond(g.http2.max_pings_per_second),
        settings: perSecond(g.http2.max_settings_per_second),
      },
      onFlood: (kind, peer) => ctx.log(`http2: ${peer} exceeded the ${kind} limit: GOAWAY sent`),
      block: { baseMs: parseDuration(g.http2.block_after_flood) },
      onBlock: (peer, p) =>
        ctx.log(
          `http2: ${peer} blocked for ${Math.round(p.ms / 1000)} s after a flood (offence ${p.offences}): its new connections are refused`,
        ),
    };
  }
  if (g.tls !== undefined) {
    out.tls = {
      ...(g.tls.cert !== undefined ? { cert: at(g.tls.cert) } : {}),
      ...(g.tls.key !== undefined ? { key: at(g.tls.key) } : {}),
      ...(g.tls.certificates
        ? { certificates: g.tls.certificates.map((c) => ({ cert: at(c.cert), key: at(c.key) })) }
        : {}),
      ...(g.tls.client_ca !== undefined ? { client_ca: at(g.tls.client_ca) } : {}),
      onReload: certReloadAlert('gateway', ctx),
    };
  }
  for (const [name, svc] of Object.entries(config.services)) {
    const up = svc.upstream;
    const target = out.services[name];
    if (up === undefined || target === undefined) continue;
    out.services[name] = {
      ...target,
      upstream: { ...target.upstream, protocol: up.protocol, ...upstreamTls(up.tls, name, at, ctx) },
    };
  }
  return out;
}

/**
 * A service's `upstream.tls`: its files read now (a file that cannot be read stops the start) and
 * their paths, which the service's pool watches for a rotated set.
 */
function upstreamTls(
  tls: { ca?: string; cert?: string; key?: string } | undefined,
  service: string,
  at: (file: string) => string,
  ctx: TlsHttp2Context,
): Pick<NonNullable<GatewayOptions['services'][string]['upstream']>, 'tls' | 'tls_files'> {
  if (tls === undefined) return {};
  const files: Record<string, string> = {};
  for (const k of ['ca', 'cert', 'key'] as const) if (tls[k] !== undefined) files[k] = at(tls[k]);
  const prefix = `services.${service}.upstream.tls: `;
  return {
    tls: Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readPem(f, prefix)])),
    tls_files: { ...files, onReload: certReloadAlert(`services.${service}.upstream`, ctx, service) },
  };
}

/** For `admin.tls`: a node server whose connections are TLS (reloading as the gateway's do). */
export function adminServerFactory(config: Config, ctx: TlsHttp2Context): FastifyServerFactory | undefined {
  const t = config.admin.tls;
  if (t === undefined) return undefined;
  const at = (f: string): string => resolve(ctx.baseDir, f);
  const tlsOptions: TlsOptions = {
    ...(t.cert !== undefined ? { cert: at(t.cert) } : {}),
    ...(t.key !== undefined ? { key: at(t.key) } : {}),
    ...(t.certificates
      ? { certificates: t.certificates.map((c) => ({ cert: at(c.cert), key: at(c.key) })) }
      : {}),
    ...(t.client_ca !== undefined ? { client_ca: at(t.client_ca) } : {}),
    onReload: certReloadAlert('admin', ctx),
  };
  return (handler) => {
    const server = http.createServer(handler);
    attachFrontOf(server, { tls: tlsOptions }, systemClock);
    return server;
  };
}
