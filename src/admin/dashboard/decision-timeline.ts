/// <reference lib="dom" />
/**
 * The service page's decision timeline: the last 50 decisions, newest first (optionally only the
 * changes), loaded from the event log for the last hour and then moved by `decision` events.
 */
import { h } from './dom.js';
import type { ApiClient } from './api-client.js';
import type { Decision } from './api-types.js';
import { decisionView } from './decision-view.js';

/** The timeline's section and how decisions reach it. */
export interface DecisionTimeline {
  section: HTMLElement;
  /** Appends a live decision (the last 500 are kept). */
  add(d: Decision): void;
  /** Loads the last hour of `service`'s decisions from the event log (at most 5 pages). */
  load(api: ApiClient, service: string): Promise<void>;
}

/** Creates an empty decision timeline. */
export function createDecisionTimeline(): DecisionTimeline {
  const decisions: Decision[] = [];
  const timeline = h('div', { class: 'timeline', id: 'timeline' });
  const changesOnly = h('input', { type: 'checkbox', id: 'changes-only', onchange: () => drawTimeline() });

  function drawTimeline() {
    timeline.replaceChildren(
      ...decisions
        .filter((d) => !changesOnly.checked || d.replicas !== d.current)
        .slice(-50)
        .reverse()
        .map((d, i) => decisionView(d, i === 0)),
    );
    if (!decisions.length) timeline.append(h('p', { class: 'muted' }, 'No decisions recorded yet.'));
  }

  return {
    section: h(
      'section',
      {},
      h('h3', {}, 'Decisions ', h('label', { class: 'muted' }, changesOnly, ' changes only')),
      timeline,
    ),
    add(d) {
      decisions.push(d);
      if (decisions.length > 500) decisions.splice(0, decisions.length - 500);
      drawTimeline();
    },
    async load(api, service) {
      const since = Date.now() - 3_600_000;
      let after: number | undefined;
      for (let page = 0; page < 5; page++) {
        const p = await api.events({ service, since, after, limit: 1000 });
        for (const e of p.events) if (e.type === 'decision') decisions.push(e.data as unknown as Decision);
        if (p.next === null) break;
        after = p.next;
      }
      drawTimeline();
    },
  };
}
