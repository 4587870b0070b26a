/// <reference lib="dom" />
/**
 * The overview: one row per service answering "does it have the capacity it needs?": replicas by
 * state, offered against admitted load, p95 against its SLO, the shed rate and firing alerts.
 * Rows refresh from `GET /v1/services` and move live with the `signals` SSE events.
 */
import { h, fmt } from './dom.js';
import type { ApiClient } from './api-client.js';
import type { AdminEvent, LiveSignals, ServiceSummary } from './api-types.js';
import { shedRate } from '../../signals/catalog.js';
import { createUsagePanel } from './usage-panel.js';

/** Everything a page needs from the shell. */
export interface PageContext {
  api: ApiClient;
  /** Shows an API error (a 401 opens the login form). */
  fail(err: unknown): void;
  /** Marks the page as showing data (the load-time measurement ends here). */
  loaded(): void;
  /** The live stream opened (true) or dropped (false; EventSource retries by itself). */
  streamState(open: boolean): void;
}

/** Renders the overview into `root`; returns the function that stops its updates. */
export function renderOverview(root: HTMLElement, ctx: PageContext): () => void {
  const body = h('tbody');
  const usage = createUsagePanel(ctx.api, ctx.fail);
  root.replaceChildren(
    h('h2', {}, 'Services'),
    h(
      'table',
      { class: 'services', id: 'services' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'service'),
          h('th', { title: 'desired / ready / starting / draining' }, 'replicas d / r / s / dr'),
          h('th', {}, 'offered rps'),
          h('th', {}, 'admitted rps'),
          h('th', {}, 'p95 / SLO ms'),
          h('th', {}, 'shed rps'),
          h('th', {}, 'alerts'),
          h('th', {}, 'last decision'),
        ),
      ),
      body,
    ),
    usage.el,
  );
  const summaries = new Map<string, ServiceSummary>();
  const live = new Map<string, LiveSignals>();
  let stopped = false;

  function row(s: ServiceSummary): HTMLTableRowElement {
    const l = live.get(s.name);
    const rep = l?.replicas ?? s.replicas;
    const rps = l?.rps ?? s.signals?.rps;
    const shed = (l ? shedRate(l) : undefined) ?? (s.signals ? shedRate(s.signals) : undefined);
    const admitted =
      l?.admitted_rps ?? (rps !== undefined && shed !== undefined ? Math.max(0, rps - shed) : undefined);
    const p95 = l?.latency.p95 ?? s.signals?.latency.p95;
    const sloP95 = (l?.slo ?? s.slo)?.latency_p95_ms;
    const over = sloP95 !== undefined && p95 !== undefined && p95 > sloP95;
    const firing = s.alerts.length;
    return h(
      'tr',
      { 'data-service': s.name },
      h(
        'td',
        {},
        h('a', { href: `#/service/${encodeURIComponent(s.name)}` }, s.name),
        s.paused ? h('span', { class: 'badge tone-hold' }, 'paused') : null,
        s.override ? h('span', { class: 'badge tone-up' }, `override ${s.override.replicas}`) : null,
      ),
      h(
        'td',
        { class: 'num replicas' },
        h('b', { class: 'desired' }, String(rep.desired)),
        ' / ',
        h('span', { class: 'ready' }, String(rep.ready)),
        ' / ',
        h('span', { class: 'starting' }, String(rep.starting)),
        ' / ',
        h('span', { class: 'draining' }, String(rep.draining)),
      ),
      h('td', { class: 'num rps' }, fmt(rps)),
      h('td', { class: 'num' }, fmt(admitted)),
      h('td', { class: `num ${over ? 'bad' : ''}` }, `${fmt(p95)} / ${fmt(sloP95)}`),
      h('td', { class: `num ${shed ? 'bad' : ''}` }, fmt(shed)),
      h(
        'td',
        { class: firing ? 'bad' : 'ok' },
        firing ? s.alerts.map((a) => `${a.name} (${a.severity})`).join(', ') : 'ok',
      ),
      h(
        'td',
        { class: s.actuationError ? 'bad' : '' },
        s.actuationError
          ? `${s.actuationError.stage} failing: ${s.actuationError.message}`
          : (s.lastReason ?? '–'),
      ),
    );
  }

  function draw() {
    body.replaceChildren(...[...summaries.values()].map(row));
    if (!summaries.size)
      body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No services configured.')));
  }

  let refreshing: Promise<void> | null = null;
  function refresh(): Promise<void> {
    refreshing ??= ctx.api
      .services()
      .then((list) => {
        if (stopped) return;
        summaries.clear();
        for (const s of list) summaries.set(s.name, s);
        draw();
        ctx.loaded();
      })
      .catch(ctx.fail)
      .finally(() => (refreshing = null));
    return refreshing;
  }

  let soon: ReturnType<typeof setTimeout> | undefined;
  const close = ctx.api.stream(
    undefined,
    ['signals', 'decision', 'alert', 'override', 'scale'],
    (e: AdminEvent) => {
      if (e.type === 'signals') {
        live.set(e.service, e.data as unknown as LiveSignals);
        const s = summaries.get(e.service);
        const tr = body.querySelector(`tr[data-service="${CSS.escape(e.service)}"]`);
        if (s && tr) tr.replaceWith(row(s));
      } else {
        // Decisions, alerts and overrides change the summary: re-read it, at most every 300 ms.
        clearTimeout(soon);
        soon = setTimeout(() => void refresh(), 300);
      }
    },
    ctx.streamState,
  );
  // Usage moves with every request, not with events: re-read with the poll.
  const poll = setInterval(() => {
    void refresh();
    void usage.refresh();
  }, 10_000);
  void refresh();
  void usage.refresh();
  return () => {
    stopped = true;
    close();
    clearInterval(poll);
    clearTimeout(soon);
  };
}
