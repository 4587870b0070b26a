/// <reference lib="dom" />
/**
 * The service page's policy dry run: a Lua source or `builtin:NAME` and an input, evaluated by
 * `POST /v1/policies/eval`; shows the Decision it would make.
 */
import { h } from './dom.js';
import { ApiError } from './api-client.js';
import type { ServiceDetail } from './api-types.js';
import { decisionView } from './decision-view.js';
import type { PageContext } from './overview-page.js';

/** The dry-run section and the function that fills it once from the service's first detail. */
export function createDryRunPanel(ctx: PageContext): { el: HTMLElement; prefill(d: ServiceDetail): void } {
  const dryPolicy = h('textarea', { id: 'dry-policy', rows: 6, spellcheck: 'false', 'aria-label': 'policy' });
  const dryInput = h('textarea', {
    id: 'dry-input',
    rows: 6,
    spellcheck: 'false',
    'aria-label': 'input JSON',
  });
  const dryOut = h('div', { id: 'dry-result' });

  async function dryRun() {
    const text = dryPolicy.value.trim();
    const m = /^builtin:([\w-]+)$/.exec(text);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(dryInput.value || '{}') as Record<string, unknown>;
    } catch (err) {
      dryOut.replaceChildren(h('p', { class: 'bad' }, `input: ${(err as Error).message}`));
      return;
    }
    try {
      const r = await ctx.api.evalPolicy({ policy: m ? { builtin: m[1]! } : { source: text }, input });
      dryOut.replaceChildren(
        h(
          'p',
          {},
          h('b', { id: 'dry-replicas' }, `→ ${r.replicas}`),
          ' ',
          h('span', { class: 'badge' }, r.reason),
          ' ',
          r.message,
        ),
        decisionView(r.decision, true),
      );
    } catch (err) {
      dryOut.replaceChildren(
        h('p', { class: 'bad' }, err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)),
      );
      ctx.fail(err);
    }
  }

  const el = h(
    'section',
    {},
    h('h3', {}, 'Dry run'),
    h(
      'p',
      { class: 'muted' },
      'Lua source, or builtin:NAME. The input is an Observation plus min, max, params, state.',
    ),
    dryPolicy,
    dryInput,
    h('button', { type: 'button', id: 'dry-run', onclick: () => void dryRun() }, 'Run'),
    dryOut,
  );
  return {
    el,
    prefill(d) {
      dryPolicy.value = d.policy.startsWith('builtin:') ? d.policy : (d.policySource ?? '');
      const inp = d.lastDecision?.inputs ?? d.signals ?? {};
      dryInput.value = JSON.stringify({ ...inp, min: d.min, max: d.max }, null, 1);
    },
  };
}
