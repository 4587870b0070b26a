/// <reference lib="dom" />
/**
 * One service: live charts (SSE `signals` events, the last 15 minutes, back-filled from the
 * store), and below them the decision timeline, the instances, per-operation SLOs, the policy
 * source and the actions (scale with a TTL, pause/resume, policy dry run).
 */
import { h } from './dom.js';
import type { AdminEvent, Decision, LiveSignals, ServiceDetail } from './api-types.js';
import { admittedRate, shedRate } from '../../signals/catalog.js';
import { PALETTE, type ChartSpec, type SeriesDef } from './time-chart.js';
import { createChartPanel, RANGES, type Range } from './chart-panel.js';
import { renderBadges } from './service-badges.js';
import { createPolicySource } from './policy-source.js';
import type { PageContext } from './overview-page.js';
import { renderKpis } from './service-kpis.js';
import { instancesTable, renderInstances } from './instances-table.js';
import { renderOperations } from './operations-table.js';
import { createDryRunPanel } from './dry-run-panel.js';
import { createDecisionTimeline } from './decision-timeline.js';
import { createServiceActions } from './service-actions.js';
import { LLM_CHARTS, llmSample } from './llm-charts.js';

const fixed =
  (...defs: SeriesDef[]) =>
  (keys: string[]) =>
    defs.filter((d) => keys.includes(d.key));

const perInstance = (prefix: string, avgKey: string) => (keys: string[]) => [
  ...keys
    .filter((k) => k.startsWith(prefix))
    .map((k, i) => ({ key: k, label: k.slice(prefix.length), color: PALETTE[i % PALETTE.length]! })),
  ...(keys.includes(avgKey) ? [{ key: avgKey, label: 'average', color: PALETTE[8]!, dash: [4, 4] }] : []),
];

/** The six charts the issue asks for, and an AI service's tokens and time to first token. */
export const CHARTS: ChartSpec[] = [
  {
    id: 'load',
    title: 'Load',
    unit: 'req/s',
    series: fixed(
      { key: 'rps', label: 'offered', color: PALETTE[0]! },
      { key: 'admitted', label: 'admitted', color: PALETTE[1]! },
      { key: 'shed', label: 'shed', color: PALETTE[2]! },
      { key: 'capacity', label: 'capacity', color: PALETTE[3]!, dash: [6, 4] },
    ),
  },
  {
    id: 'replicas',
    integer: true,
    title: 'Replicas',
    unit: 'instances',
    series: fixed(
      { key: 'desired', label: 'desired', color: PALETTE[4]!, stepped: true },
      { key: 'ready', label: 'ready', color: PALETTE[1]!, stepped: true },
      { key: 'starting', label: 'starting', color: PALETTE[6]!, stepped: true },
      { key: 'draining', label: 'draining', color: PALETTE[8]!, stepped: true },
    ),
  },
  {
    id: 'latency',
    title: 'Latency',
    unit: 'ms',
    series: fixed(
      { key: 'p50', label: 'p50', color: PALETTE[1]! },
      { key: 'p95', label: 'p95', color: PALETTE[0]! },
      { key: 'p99', label: 'p99', color: PALETTE[4]! },
      { key: 'slo_p95', label: 'SLO p95', color: PALETTE[2]!, dash: [6, 4] },
      { key: 'slo_p99', label: 'SLO p99', color: PALETTE[7]!, dash: [2, 4] },
    ),
  },
  { id: 'cpu', title: 'CPU per instance', unit: '% of a core', series: perInstance('cpu:', 'cpu') },
  { id: 'memory', title: 'Memory per instance', unit: '% of limit', series: perInstance('mem:', 'memory') },
  {
    id: 'queue',
    title: 'Queue depth',
    unit: 'requests',
    series: fixed(
      { key: 'queue', label: 'queued', color: PALETTE[6]! },
      { key: 'inflight', label: 'in flight', color: PALETTE[5]! },
    ),
  },
  ...LLM_CHARTS,
];

/** A `signals` event as one row of chart values. */
export function sampleOf(s: LiveSignals): Record<string, number> {
  const v: Record<string, number> = {
    rps: s.rps,
    admitted: s.admitted_rps ?? admittedRate(s),
    shed: shedRate(s),
    desired: s.replicas.desired,
    ready: s.replicas.ready,
    starting: s.replicas.starting,
    draining: s.replicas.draining,
    p50: s.latency.p50,
    p95: s.latency.p95,
    p99: s.latency.p99,
    queue: s.queue,
    ...llmSample(s),
  };
  // Unknown CPU or memory (the provider reports no usage) is absent from the chart, not 0.
  if (typeof s.cpu === 'number') v.cpu = s.cpu;
  if (typeof s.memory === 'number') v.memory = s.memory;
  if (typeof s.inflight === 'number') v.inflight = s.inflight;
  if (typeof s.capacity_rps === 'number') v.capacity = s.capacity_rps;
  if (s.slo?.latency_p95_ms !== undefined) v.slo_p95 = s.slo.latency_p95_ms;
  if (s.slo?.latency_p99_ms !== undefined) v.slo_p99 = s.slo.latency_p99_ms;
  for (const i of s.instances ?? []) {
    if (typeof i.cpu === 'number') v[`cpu:${i.id}`] = i.cpu;
    if (typeof i.memory === 'number') v[`mem:${i.id}`] = i.memory;
  }
  return v;
}

/** Renders the service page for `name`; returns the function that stops its updates. */
export function renderServicePage(root: HTMLElement, ctx: PageContext, name: string): () => void {
  const { api } = ctx;
  let stopped = false;
  let detail: ServiceDetail | null = null;
  let lastLive: LiveSignals | null = null;

  const title = h('h2', {}, name);
  const badges = h('span', { class: 'badges' });
  const kpis = h('div', { class: 'kpis', id: 'kpis' });
  const chartsEl = h('div', { class: 'charts' });
  const timeline = createDecisionTimeline();
  const instancesBody = h('tbody');
  const operationsEl = h('div', { id: 'operations' });
  const policy = createPolicySource();
  const dryRun = createDryRunPanel(ctx);

  const actions = createServiceActions(ctx, {
    service: name,
    ranges: Object.keys(RANGES),
    refresh: () => refresh(),
    paused: () => detail?.paused,
  });
  const { scaleInput, pauseBtn, rangeSel } = actions;

  root.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← all services')),
    h('header', { class: 'service-head' }, title, badges),
    kpis,
    actions.form,
    actions.status,
    chartsEl,
    h(
      'div',
      { class: 'columns' },
      timeline.section,
      h(
        'section',
        {},
        h('h3', {}, 'Instances'),
        instancesTable(instancesBody),
        h('h3', {}, 'Operations'),
        operationsEl,
      ),
    ),
    h('div', { class: 'columns' }, policy.el, dryRun.el),
  );
  const charts = createChartPanel(chartsEl, { api, service: name, charts: CHARTS, fail: ctx.fail });
  rangeSel.addEventListener('change', () => charts.setRange(rangeSel.value as Range));

  function drawKpis(s: LiveSignals | null) {
    if (detail) renderKpis(kpis, { d: detail, s });
  }

  function drawDetail() {
    const d = detail!;
    title.textContent = name;
    renderBadges(badges, d);
    pauseBtn.textContent = d.paused ? 'Resume' : 'Pause';
    drawKpis(lastLive);
    renderInstances(instancesBody, { d, live: lastLive });
    renderOperations(operationsEl, d);
    policy.render(d);
  }

  let refreshing: Promise<void> | null = null;
  function refresh(): Promise<void> {
    refreshing ??= api
      .service(name)
      .then((d) => {
        if (stopped) return;
        const first = !detail;
        detail = d;
        drawDetail();
        if (first) {
          scaleInput.value = String(d.replicas.desired);
          dryRun.prefill(d);
          ctx.loaded();
        }
      })
      .catch(ctx.fail)
      .finally(() => (refreshing = null));
    return refreshing;
  }

  let soon: ReturnType<typeof setTimeout> | undefined;
  const close = api.stream(
    name,
    ['signals', 'decision', 'instance', 'scale', 'override', 'alert', 'policy'],
    (e: AdminEvent) => {
      if (stopped) return;
      if (e.type === 'signals') {
        lastLive = e.data as unknown as LiveSignals;
        charts.push(Math.round(e.at / 1000), sampleOf(lastLive));
        drawKpis(lastLive);
        return;
      }
      if (e.type === 'decision') {
        timeline.add(e.data as unknown as Decision);
      }
      clearTimeout(soon);
      soon = setTimeout(() => void refresh(), 200);
    },
    ctx.streamState,
  );
  // The instances' ages and the override's TTL move without events: re-read every 5 s.
  const poll = setInterval(() => void refresh(), 5_000);
  void refresh();
  void charts.backfill().catch(ctx.fail);
  void timeline.load(api, name).catch(ctx.fail);
  return () => {
    stopped = true;
    close();
    clearInterval(poll);
    clearTimeout(soon);
    charts.destroy();
  };
}
