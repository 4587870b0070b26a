/// <reference lib="dom" />
/** The service page's policy section: the policy's name and its highlighted Lua source. */
import { h } from './dom.js';
import type { ServiceDetail } from './api-types.js';
import { highlightLua } from './lua-highlight.js';

/** The policy section and the function that redraws it from a service detail. */
export function createPolicySource(): { el: HTMLElement; render(d: ServiceDetail): void } {
  const policyEl = h('pre', { class: 'lua', id: 'policy-source' });
  const policyName = h('span', { class: 'muted' });
  return {
    el: h('section', {}, h('h3', {}, 'Policy ', policyName), policyEl),
    render(d) {
      policyName.textContent = d.policy;
      const src = d.policySource ?? '';
      // Re-highlight only when the source changed (the detail is re-read every 5 s).
      if (policyEl.dataset.source !== src) {
        policyEl.dataset.source = src;
        policyEl.innerHTML = src ? highlightLua(src) : '';
        if (!src) policyEl.textContent = `${d.policy} (no source to show)`;
      }
    },
  };
}
