/// <reference lib="dom" />
/**
 * The service page's KPI strip: replicas by state, offered, admitted and shed load, p95 against its
 * SLO and the firing alerts. Live values from the `signals` event win over the last detail read.
 */
import { h, fmt } from './dom.js';
import type { LiveSignals, ServiceDetail } from './api-types.js';
import { admittedRate, shedRate } from '../../signals/catalog.js';

/** Redraws the KPI strip into `el` from the service detail `d` and the latest live signals `s`. */
export function renderKpis(el: HTMLElement, view: { d: ServiceDetail; s: LiveSignals | null }): void {
  const { d, s } = view;
  const rep = s?.replicas ?? d.replicas;
  const sig = s ?? d.signals;
  const slo = s?.slo ?? d.slo;
  const kpi = (label: string, value: string, cls = '', id = '') =>
    h('div', { class: `kpi ${cls}`, ...(id ? { id } : {}) }, h('span', {}, label), h('b', {}, value));
  const p95 = sig?.latency.p95;
  el.replaceChildren(
    kpi('desired', String(rep.desired), '', 'kpi-desired'),
    kpi('ready', String(rep.ready), '', 'kpi-ready'),
    kpi('starting', String(rep.starting)),
    kpi('draining', String(rep.draining)),
    kpi('offered rps', fmt(sig?.rps), '', 'kpi-rps'),
    kpi('admitted rps', fmt(s?.admitted_rps ?? (sig ? admittedRate(sig) : undefined))),
    kpi('shed rps', fmt(sig && shedRate(sig)), sig && shedRate(sig) ? 'bad' : ''),
    kpi(
      'p95 / SLO ms',
      `${fmt(p95)} / ${fmt(slo?.latency_p95_ms)}`,
      slo?.latency_p95_ms !== undefined && p95 !== undefined && p95 > slo.latency_p95_ms ? 'bad' : '',
    ),
    kpi(
      'alerts',
      d.alerts.length ? d.alerts.map((a) => a.name).join(', ') : 'ok',
      d.alerts.length ? 'bad' : 'ok',
    ),
  );
}
