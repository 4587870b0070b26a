/// <reference lib="dom" />
/** The badges beside a service's name: provider, bounds, paused, and a manual override with its TTL. */
import { h, fmtTime } from './dom.js';
import type { ServiceDetail } from './api-types.js';

/** Redraws the badges of `d` into `el`. */
export function renderBadges(el: HTMLElement, d: ServiceDetail): void {
  el.replaceChildren(
    h('span', { class: 'badge' }, d.provider),
    h('span', { class: 'badge' }, `min ${d.min} · max ${d.max}`),
    d.paused ? h('span', { class: 'badge tone-hold', id: 'paused-badge' }, 'paused') : '',
    d.override
      ? h(
          'span',
          { class: 'badge tone-up', id: 'override-badge' },
          `override ${d.override.replicas}${d.override.until ? ` until ${fmtTime(d.override.until)}` : ''}`,
        )
      : '',
  );
}
