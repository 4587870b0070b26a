/// <reference lib="dom" />
/**
 * The service page's per-operation table (services with an OpenAPI document): each operation's
 * rate, latency and error rate against its SLO, and what was shed.
 */
import { h, fmt } from './dom.js';
import type { ServiceDetail } from './api-types.js';
import { shedRate } from '../../signals/catalog.js';

/** Redraws the operations table of `d` into `el`, or says why there is none. */
export function renderOperations(el: HTMLElement, d: ServiceDetail): void {
  const ops = Object.entries(d.operations ?? {});
  if (!ops.length) {
    el.replaceChildren(
      h('p', { class: 'muted' }, 'No per-operation signals (the service has no OpenAPI document).'),
    );
    return;
  }
  const cmp = (v: number | undefined, limit: number | undefined, unit = '') =>
    h(
      'td',
      { class: `num ${v !== undefined && limit !== undefined && v > limit ? 'bad' : ''}` },
      `${fmt(v)}${limit !== undefined ? ` / ${fmt(limit)}` : ''}${unit}`,
    );
  el.replaceChildren(
    h(
      'table',
      { id: 'operations-table' },
      h(
        'tr',
        {},
        ...['operation', 'rps', 'p95 / SLO ms', 'p99 / SLO ms', 'errors / SLO', 'shed rps'].map((c) =>
          h('th', {}, c),
        ),
      ),
      ops.map(([id, o]) =>
        h(
          'tr',
          {},
          h('td', {}, id),
          h('td', { class: 'num' }, fmt(o.rps)),
          cmp(o.latency?.p95, o.slo?.latency_p95_ms),
          cmp(o.latency?.p99, o.slo?.latency_p99_ms),
          cmp(o.error_rate, o.slo?.error_rate),
          h('td', { class: 'num' }, fmt(shedRate(o))),
        ),
      ),
    ),
  );
}
