/**
 * Where alert notices go: the log, and a webhook that speaks Alertmanager. A URL ending in
 * `/api/v2/alerts` gets Alertmanager's v2 API body (an array of postable alerts); any other URL gets
 * the payload Alertmanager's own webhook receiver sends (`version: "4"`, `status`, `alerts`), so
 * tools written for Alertmanager webhooks accept luascale's alerts unchanged.
 */
import { request } from 'undici';
import type { AlertNotice } from './alert-engine.js';

/** Sends alert notices somewhere; must not throw. */
export type AlertNotifier = (notices: AlertNotice[]) => Promise<void>;

/** Alertmanager labels/annotations for one notice; times are ISO 8601 (ms are epoch-like, see core/clock). */
export function toPostableAlert(n: AlertNotice, generatorURL?: string) {
  const a = n.alert;
  return {
    labels: { alertname: a.name, service: a.service, severity: a.severity, source: 'luascale', ...a.labels },
    annotations: { summary: a.message },
    startsAt: new Date(a.startsAt).toISOString(),
    ...(n.status === 'resolved' && a.endsAt !== undefined
      ? { endsAt: new Date(a.endsAt).toISOString() }
      : {}),
    ...(generatorURL ? { generatorURL } : {}),
  };
}

/** Posts notices to a webhook or an Alertmanager; failures are reported through `onError`. */
export function webhookNotifier(options: {
  url: string;
  timeoutMs?: number;
  generatorURL?: string;
  onError?: (err: Error) => void;
}): AlertNotifier {
  const v2 = /\/api\/v2\/alerts\/?$/.test(new URL(options.url).pathname);
  return async function notify(notices) {
    if (notices.length === 0) return;
    const alerts = notices.map((n) => toPostableAlert(n, options.generatorURL));
    const body = v2
      ? alerts
      : {
          version: '4',
          status: notices.some((n) => n.status === 'firing') ? 'firing' : 'resolved',
          receiver: 'luascale',
          alerts: notices.map((n, i) => ({ status: n.status, ...alerts[i] })),
        };
    try {
      const res = await request(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: options.timeoutMs ?? 5000,
        bodyTimeout: options.timeoutMs ?? 5000,
      });
      await res.body.dump();
      // Only the origin: webhook paths and query strings often carry a token (Slack, Alertmanager proxies).
      if (res.statusCode >= 300)
        throw new Error(`${new URL(options.url).origin}/… answered ${res.statusCode}`);
    } catch (err) {
      options.onError?.(err as Error);
    }
  };
}

/** Writes notices to a logger. */
export function logNotifier(log: (line: string) => void): AlertNotifier {
  return async function notify(notices) {
    for (const n of notices) {
      const a = n.alert;
      log(
        `alert ${n.status}${n.repeat ? ' (repeat)' : ''} [${a.severity}] ${a.service}/${a.name}: ${a.message}`,
      );
    }
  };
}
