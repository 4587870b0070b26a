/// <reference lib="dom" />
/**
 * A Decision as the timeline shows it (house style §3: decisions are values, shown as they are):
 * the change and its reason code on one line, then on demand the inputs the policy saw, what the
 * policy returned, and every pipeline step (tolerance, stabilization, rate limits, bounds, ...)
 * that moved or held the number.
 */
import { h, fmt, fmtTime } from './dom.js';
import type { Decision } from './api-types.js';
// The catalogue only (no compiled readers: the page runs under a CSP without eval).
import { SIGNALS } from '../../signals/catalog.js';

/** Input rows: the catalogue's plain signals (latency gets one row of its own), then draining. */
const INPUT_KEYS = [...SIGNALS.filter((s) => !s.name.includes('.')).map((s) => s.name), 'draining'];

/** Whether a reason means "the count went up", "down" or stayed (for the badge colour). */
export function reasonTone(
  d: Pick<Decision, 'current' | 'replicas' | 'reason'>,
): 'up' | 'down' | 'hold' | 'error' {
  if (d.reason === 'PolicyError' || d.reason === 'NoData') return 'error';
  if (d.replicas > d.current) return 'up';
  if (d.replicas < d.current) return 'down';
  return 'hold';
}

/** One timeline entry: a `<details>` whose summary is the change and whose body explains it. */
export function decisionView(d: Decision, open = false): HTMLElement {
  const tone = reasonTone(d);
  const o = d.policy.outcome;
  const inputs = d.inputs as unknown as Record<string, unknown>;
  const latency = inputs.latency as { p50?: number; p95?: number; p99?: number } | undefined;
  const inputRows = INPUT_KEYS.filter((k) => typeof inputs[k] === 'number').map((k) =>
    h('tr', {}, h('th', {}, k), h('td', { class: 'num' }, fmt(inputs[k] as number))),
  );
  if (latency)
    inputRows.push(
      h(
        'tr',
        {},
        h('th', {}, 'latency p50/p95/p99'),
        h('td', { class: 'num' }, `${fmt(latency.p50)} / ${fmt(latency.p95)} / ${fmt(latency.p99)} ms`),
      ),
    );
  const policyLines: Array<[string, string]> = [['policy', d.policy.name]];
  if (d.policy.evaluated === false) policyLines.push(['evaluated', 'no (not called for this reason)']);
  if (o.ok) {
    policyLines.push(['recommended', String(o.replicas)]);
    if (o.reason) policyLines.push(['policy reason', o.reason]);
    if (o.raw !== undefined && typeof o.raw !== 'number')
      policyLines.push(['returned', JSON.stringify(o.raw)]);
    if (o.detail) policyLines.push(['detail', JSON.stringify(o.detail)]);
  } else {
    policyLines.push(['error', `${o.code}: ${o.error}`]);
  }
  for (const l of o.logs) policyLines.push(['log', l]);
  for (const a of o.alerts) policyLines.push([`alert (${a.severity})`, a.message]);
  return h(
    'details',
    { class: `decision tone-${tone}`, 'data-reason': d.reason, open },
    h(
      'summary',
      {},
      h('time', {}, fmtTime(d.at)),
      h(
        'span',
        { class: 'change' },
        d.current === d.replicas ? `${d.replicas}` : `${d.current} → ${d.replicas}`,
      ),
      h('span', { class: `badge tone-${tone}` }, d.reason),
      d.mode === 'panic' ? h('span', { class: 'badge tone-error' }, 'panic') : null,
      h('span', { class: 'message' }, d.message),
    ),
    h(
      'div',
      { class: 'explain' },
      h('div', {}, h('h4', {}, 'Inputs'), h('table', { class: 'kv' }, inputRows)),
      h(
        'div',
        {},
        h('h4', {}, 'Policy output'),
        h(
          'table',
          { class: 'kv' },
          policyLines.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
        ),
      ),
      h(
        'div',
        { class: 'steps' },
        h('h4', {}, 'Steps and clamps'),
        d.steps.length
          ? h(
              'table',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'stage'),
                h('th', {}, 'from → to'),
                h('th', {}, 'reason'),
                h('th', {}, 'note'),
              ),
              d.steps.map((s) =>
                h(
                  'tr',
                  {},
                  h('td', {}, s.stage),
                  h('td', { class: 'num' }, `${s.from} → ${s.to}`),
                  h('td', {}, s.reason),
                  h('td', {}, s.note),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No clamp applied.'),
      ),
    ),
  );
}
