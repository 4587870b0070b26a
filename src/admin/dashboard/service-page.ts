/// <reference lib="dom" />
/**
 * One service: live charts (SSE `signals` events, the last 15 minutes, back-filled from the
 * store), and below them the decision timeline, the instances, per-operation SLOs, the policy
 * source and the actions (scale with a TTL, pause/resume, policy dry run).
 */
import { h, fmt, fmtDuration, fmtTime } from './dom.js';
import { ApiError } from './api-client.js';
import type { AdminEvent, Decision, LiveSignals, ServiceDetail } from './api-types.js';
import { LiveSeries } from './live-series.js';
import { createTimeChart, PALETTE, type ChartSpec, type SeriesDef, type TimeChart } from './time-chart.js';
import { decisionView } from './decision-view.js';
import { highlightLua } from './lua-highlight.js';
import type { PageContext } from './overview-page.js';
// The catalogue only (no compiled readers: the page runs under a CSP without eval).
import { SIGNALS } from '../../signals/catalog.js';

/** Chart ranges: the live window, or history from `GET /v1/metrics/query`. */
const RANGES = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400 } as const;
type Range = keyof typeof RANGES;

/** Chart keys back-filled from the store: catalogue labels (admitted and starting are derived). */
const CHARTED = new Set([
  'rps',
  'shed',
  'ready',
  'replicas',
  'p50',
  'p95',
  'p99',
  'queue',
  'inflight',
  'cpu',
  'memory',
]);
/** Stored metric (a catalogue history signal) → chart key (its label). */
const HISTORY_KEYS: Record<string, string> = Object.fromEntries(
  SIGNALS.filter((s) => s.history && CHARTED.has(s.label)).map((s) => [s.name, s.label]),
);

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

/** The six charts the issue asks for. */
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
];

/** A `signals` event as one row of chart values. */
export function sampleOf(s: LiveSignals): Record<string, number> {
  const v: Record<string, number> = {
    rps: s.rps,
    admitted: s.admitted_rps ?? Math.max(0, s.rps - s.shed_rps),
    shed: s.shed_rps,
    desired: s.replicas.desired,
    ready: s.replicas.ready,
    starting: s.replicas.starting,
    draining: s.replicas.draining,
    p50: s.latency.p50,
    p95: s.latency.p95,
    p99: s.latency.p99,
    queue: s.queue,
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
  let range: Range = '15m';
  const live = new LiveSeries(RANGES['15m']);
  let history: LiveSeries | null = null;
  let lastLive: LiveSignals | null = null;
  const decisions: Decision[] = [];

  const title = h('h2', {}, name);
  const badges = h('span', { class: 'badges' });
  const kpis = h('div', { class: 'kpis', id: 'kpis' });
  const status = h('p', { class: 'status', id: 'action-status', role: 'status' });
  const scaleInput = h('input', {
    type: 'number',
    min: 0,
    max: 100000,
    id: 'scale-replicas',
    'aria-label': 'replicas',
    value: 1,
  });
  const ttlInput = h('input', {
    type: 'text',
    id: 'scale-ttl',
    value: '10m',
    size: 5,
    'aria-label': 'TTL',
    pattern: '\\d+(\\.\\d+)?(ms|s|m|h|d)?',
  });
  const pauseBtn = h('button', { type: 'button', id: 'pause' }, 'Pause');
  const rangeSel = h(
    'select',
    { id: 'range', 'aria-label': 'chart range' },
    ...Object.keys(RANGES).map((r) => h('option', { value: r }, r === '15m' ? '15 min (live)' : r)),
  );
  const chartsEl = h('div', { class: 'charts' });
  const timeline = h('div', { class: 'timeline', id: 'timeline' });
  const changesOnly = h('input', { type: 'checkbox', id: 'changes-only', onchange: () => drawTimeline() });
  const instancesBody = h('tbody');
  const operationsEl = h('div', { id: 'operations' });
  const policyEl = h('pre', { class: 'lua', id: 'policy-source' });
  const policyName = h('span', { class: 'muted' });
  const dryPolicy = h('textarea', { id: 'dry-policy', rows: 6, spellcheck: 'false', 'aria-label': 'policy' });
  const dryInput = h('textarea', {
    id: 'dry-input',
    rows: 6,
    spellcheck: 'false',
    'aria-label': 'input JSON',
  });
  const dryOut = h('div', { id: 'dry-result' });

  const act = (label: string, fn: () => Promise<unknown>) => async () => {
    status.textContent = `${label}…`;
    try {
      await fn();
      status.textContent = `${label}: done`;
      await refresh();
    } catch (err) {
      status.textContent = `${label}: ${err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)}`;
      ctx.fail(err);
    }
  };

  root.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← all services')),
    h('header', { class: 'service-head' }, title, badges),
    kpis,
    h(
      'form',
      { class: 'actions', id: 'actions', onsubmit: (e: Event) => e.preventDefault() },
      h('label', {}, 'Scale to ', scaleInput),
      h('label', {}, ' for ', ttlInput),
      h(
        'button',
        {
          type: 'submit',
          id: 'scale',
          onclick: act('Scale', () =>
            api.scale(name, {
              replicas: Number(scaleInput.value),
              ...(ttlInput.value ? { ttl: ttlInput.value } : {}),
            }),
          ),
        },
        'Scale',
      ),
      h(
        'button',
        { type: 'button', id: 'clear-scale', onclick: act('Clear override', () => api.clearScale(name)) },
        'Clear override',
      ),
      pauseBtn,
      h('label', { class: 'range' }, 'Charts ', rangeSel),
    ),
    status,
    chartsEl,
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        {},
        h('h3', {}, 'Decisions ', h('label', { class: 'muted' }, changesOnly, ' changes only')),
        timeline,
      ),
      h(
        'section',
        {},
        h('h3', {}, 'Instances'),
        h(
          'table',
          { id: 'instances' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['instance', 'state', 'age', 'in flight', 'errors', 'cpu %', 'mem %'].map((c) =>
                h('th', {}, c),
              ),
            ),
          ),
          instancesBody,
        ),
        h('h3', {}, 'Operations'),
        operationsEl,
      ),
    ),
    h(
      'div',
      { class: 'columns' },
      h('section', {}, h('h3', {}, 'Policy ', policyName), policyEl),
      h(
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
      ),
    ),
  );
  pauseBtn.addEventListener(
    'click',
    act('Pause/resume', () => api.pause(name, !detail?.paused)),
  );
  rangeSel.addEventListener('change', () => {
    range = rangeSel.value as Range;
    void loadHistory().then(drawCharts);
  });

  const charts: TimeChart[] = CHARTS.map((spec) => createTimeChart(chartsEl, spec));
  const onTheme = () => {
    for (const c of charts) c.restyle();
    drawCharts();
  };
  document.addEventListener('themechange', onTheme);

  function drawCharts() {
    if (range === '15m') {
      // The last 15 minutes, or less while the program is younger (at least one minute shown).
      const end = live.last ?? Date.now() / 1000;
      const start = Math.max(end - RANGES['15m'], Math.min(live.first ?? end, end - 60));
      for (const c of charts) c.update(live, [start, end]);
    } else if (history) {
      const end = Date.now() / 1000;
      for (const c of charts) c.update(history, [end - RANGES[range], end]);
    }
  }

  async function fetchSeries(into: LiveSeries, window: string) {
    type Points = Array<[number, number]>;
    const results = await Promise.all(
      Object.keys(HISTORY_KEYS).map((m) =>
        api.metric(name, m, window).then(
          (r): [string, Points] => [m, r.points as Points],
          (): [string, Points] => [m, []],
        ),
      ),
    );
    // Keyed by chart key from here on.
    const byKey = new Map<string, Points>(results.map(([m, points]) => [HISTORY_KEYS[m]!, points]));
    for (const [key, points] of byKey) if (key !== 'replicas') into.backfill(key, points);
    // Derived: admitted = offered − shed; starting = live instances − ready (same timestamps).
    const pair = (a: string, b: string, key: string, f: (x: number, y: number) => number) => {
      const bs = new Map(byKey.get(b) ?? []);
      into.backfill(
        key,
        (byKey.get(a) ?? [])
          .filter(([t]) => bs.has(t))
          .map(([t, v]): [number, number] => [t, f(v, bs.get(t)!)]),
      );
    };
    pair('rps', 'shed', 'admitted', (x, y) => Math.max(0, x - y));
    pair('replicas', 'ready', 'starting', (x, y) => Math.max(0, x - y));
  }

  async function loadHistory() {
    if (range === '15m') return;
    history = new LiveSeries(RANGES[range]);
    await fetchSeries(history, range).catch(ctx.fail);
  }

  function drawKpis(s: LiveSignals | null) {
    const d = detail;
    if (!d) return;
    const rep = s?.replicas ?? d.replicas;
    const sig = s ?? d.signals;
    const slo = s?.slo ?? d.slo;
    const kpi = (label: string, value: string, cls = '', id = '') =>
      h('div', { class: `kpi ${cls}`, ...(id ? { id } : {}) }, h('span', {}, label), h('b', {}, value));
    const p95 = sig?.latency.p95;
    kpis.replaceChildren(
      kpi('desired', String(rep.desired), '', 'kpi-desired'),
      kpi('ready', String(rep.ready), '', 'kpi-ready'),
      kpi('starting', String(rep.starting)),
      kpi('draining', String(rep.draining)),
      kpi('offered rps', fmt(sig?.rps), '', 'kpi-rps'),
      kpi('admitted rps', fmt(s?.admitted_rps ?? (sig ? Math.max(0, sig.rps - sig.shed_rps) : undefined))),
      kpi('shed rps', fmt(sig?.shed_rps), sig?.shed_rps ? 'bad' : ''),
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

  function drawDetail() {
    const d = detail!;
    title.textContent = name;
    badges.replaceChildren(
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
    pauseBtn.textContent = d.paused ? 'Resume' : 'Pause';
    drawKpis(lastLive);
    const liveInst = new Map((lastLive?.instances ?? []).map((i) => [i.id, i]));
    const now = Date.now();
    instancesBody.replaceChildren(
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
    if (!d.instances.length)
      instancesBody.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No instances.')));
    drawOperations(d);
    policyName.textContent = d.policy;
    const src = d.policySource ?? '';
    if (policyEl.dataset.source !== src) {
      policyEl.dataset.source = src;
      policyEl.innerHTML = src ? highlightLua(src) : '';
      if (!src) policyEl.textContent = `${d.policy} (no source to show)`;
    }
  }

  function drawOperations(d: ServiceDetail) {
    const ops = Object.entries(d.operations ?? {});
    if (!ops.length) {
      operationsEl.replaceChildren(
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
    operationsEl.replaceChildren(
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
            h('td', { class: 'num' }, fmt(o.shed_rps)),
          ),
        ),
      ),
    );
  }

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
      const r = await api.evalPolicy({ policy: m ? { builtin: m[1]! } : { source: text }, input });
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
          dryPolicy.value = d.policy.startsWith('builtin:') ? d.policy : (d.policySource ?? '');
          const inp = d.lastDecision?.inputs ?? d.signals ?? {};
          dryInput.value = JSON.stringify({ ...inp, min: d.min, max: d.max }, null, 1);
          ctx.loaded();
        }
      })
      .catch(ctx.fail)
      .finally(() => (refreshing = null));
    return refreshing;
  }

  async function loadDecisions() {
    const since = Date.now() - 3_600_000;
    let after: number | undefined;
    for (let page = 0; page < 5; page++) {
      const p = await api.events({ service: name, since, after, limit: 1000 });
      for (const e of p.events) if (e.type === 'decision') decisions.push(e.data as unknown as Decision);
      if (p.next === null) break;
      after = p.next;
    }
    drawTimeline();
  }

  let soon: ReturnType<typeof setTimeout> | undefined;
  const close = api.stream(
    name,
    ['signals', 'decision', 'instance', 'scale', 'override', 'alert', 'policy'],
    (e: AdminEvent) => {
      if (stopped) return;
      if (e.type === 'signals') {
        lastLive = e.data as unknown as LiveSignals;
        live.push(Math.round(e.at / 1000), sampleOf(lastLive));
        if (range === '15m') drawCharts();
        drawKpis(lastLive);
        return;
      }
      if (e.type === 'decision') {
        decisions.push(e.data as unknown as Decision);
        if (decisions.length > 500) decisions.splice(0, decisions.length - 500);
        drawTimeline();
      }
      clearTimeout(soon);
      soon = setTimeout(() => void refresh(), 200);
    },
    ctx.streamState,
  );
  // The instances' ages and the override's TTL move without events: re-read every 5 s.
  const poll = setInterval(() => void refresh(), 5_000);
  void refresh();
  void fetchSeries(live, '15m').then(drawCharts).catch(ctx.fail);
  void loadDecisions().catch(ctx.fail);
  return () => {
    stopped = true;
    close();
    clearInterval(poll);
    clearTimeout(soon);
    document.removeEventListener('themechange', onTheme);
    for (const c of charts) c.destroy();
  };
}
