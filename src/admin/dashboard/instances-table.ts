/// <reference lib="dom" />
/**
 * The service page's instances table: each instance's state, age, requests in flight, errors, CPU
 * and memory; live values from the `signals` event win over the last detail read.
 */
import { h, fmt, fmtDuration } from './dom.js';
import type { LiveSignals, ServiceDetail } from './api-types.js';

/** The table around `body` (its header row); rows come from {@link renderInstances}. */
export function instancesTable(body: HTMLTableSectionElement): HTMLTableElement {
  return h(
    'table',
    { id: 'instances' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['instance', 'state', 'age', 'in flight', 'errors', 'cpu %', 'mem %'].map((c) => h('th', {}, c)),
      ),
    ),
    body,
  );
}

/** Redraws the instance rows of `d` into `body`. */
export function renderInstances(
  body: HTMLTableSectionElement,
  view: { d: ServiceDetail; live: LiveSignals | null },
): void {
  const { d, live } = view;
  const liveInst = new Map((live?.instances ?? []).map((i) => [i.id, i]));
  const now = Date.now();
  body.replaceChildren(
    ...d.instances.map((i) => {
      const l = liveInst.get(i.id);
      return h(
        'tr',
        { 'data-state': i.state },
        h('td', { title: i.url }, i.id),
        h('td', {}, h('span', { class: `state state-${i.state}` }, i.state)),
        h('td', { class: 'num' }, fmtDuration(now - i.startedAt)),
        h('td', { class: 'num' }, fmt(l?.inflight ?? i.inflight)),
        h('td', { class: 'num' }, fmt(i.errors)),
        h('td', { class: 'num' }, fmt(l?.cpu ?? i.cpu)),
        h('td', { class: 'num' }, fmt(l?.memory ?? i.memory)),
      );
    }),
  );
  if (!d.instances.length) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No instances.')));
}
