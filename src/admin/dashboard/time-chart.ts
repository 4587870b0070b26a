/// <reference lib="dom" />
/**
 * One uPlot time chart bound to a LiveSeries: a title with the newest values, lines per series
 * (fixed ones, or one per instance for the per-instance charts), redrawn on every update. The
 * chart is rebuilt only when its set of series changes (an instance came or went) or the theme
 * changes; otherwise `setData` redraws in well under a millisecond for 900 points.
 */
import uPlot from 'uplot';
import { h, fmt } from './dom.js';
import type { LiveSeries } from './live-series.js';

/** One line of a chart. */
export interface SeriesDef {
  key: string;
  label: string;
  color: string;
  dash?: number[];
  stepped?: boolean;
}

/** What a chart shows: `series` gets every key held by the data and picks its lines. */
export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  /** Counts (replicas): whole-number ticks only. */
  integer?: boolean;
  /** Hidden while it has no series (the AI service charts on other services). */
  optional?: boolean;
  series(keys: string[]): SeriesDef[];
}

/** A chart on the page. */
export interface TimeChart {
  readonly el: HTMLElement;
  /** Redraws from `data`; `range` fixes the x axis (epoch s), else it follows the data. */
  update(data: LiveSeries, range?: [number, number]): void;
  /** Rebuilds with the current theme's colours on the next update. */
  restyle(): void;
  destroy(): void;
}

/** Colours that read on both the dark and the light background. */
export const PALETTE = [
  '#4e9af1',
  '#3cb371',
  '#e5534b',
  '#d4a72c',
  '#a371f7',
  '#2bb5b8',
  '#f0883e',
  '#db61a2',
  '#8b949e',
];

/** Epoch seconds as a 24-hour `HH:MM` axis label (`HH:MM:SS` when a tick is not on a whole minute). */
function clock(t: number, seconds: boolean): string {
  return new Date(t * 1000).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
    hour12: false,
  });
}

/** A y-axis label that fits 48 px: 950, 12k, 1.5M. */
function axisNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  return fmt(v);
}

/** Creates a chart inside `parent`. */
export function createTimeChart(parent: HTMLElement, spec: ChartSpec): TimeChart {
  const values = h('span', { class: 'chart-values' });
  const plot = h('div', { class: 'chart-plot' });
  const el = h(
    'section',
    { class: 'chart', id: `chart-${spec.id}`, 'data-points': 0 },
    h('h3', {}, spec.title, ' ', h('small', {}, spec.unit), values),
    plot,
  );
  parent.append(el);
  let chart: uPlot | null = null;
  let signature = '';
  const resize = new ResizeObserver(() => chart?.setSize(size()));
  resize.observe(plot);

  function size() {
    return { width: Math.max(240, plot.clientWidth), height: 170 };
  }

  function build(defs: SeriesDef[]): uPlot {
    const css = getComputedStyle(document.documentElement);
    const axis = css.getPropertyValue('--muted').trim() || '#888';
    const grid = css.getPropertyValue('--grid').trim() || 'rgba(128,128,128,.15)';
    const axisOpts = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      ...size(),
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          ...axisOpts,
          space: 80,
          values: (_u, ticks) =>
            ticks.map((t) =>
              clock(
                t,
                ticks.some((x) => x % 60 !== 0),
              ),
            ),
        },
        {
          ...axisOpts,
          size: 48,
          values: (_u, ticks) => ticks.map(axisNumber),
          ...(spec.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}),
        },
      ],
      series: [
        {},
        ...defs.map((d) => ({
          label: d.label,
          stroke: d.color,
          width: 1.5,
          dash: d.dash,
          spanGaps: true,
          points: { show: false },
          paths: d.stepped ? uPlot.paths.stepped!({ align: 1 }) : undefined,
        })),
      ],
    };
    return new uPlot(opts, [[], ...defs.map(() => [])], plot);
  }

  return {
    el,
    update(data, range) {
      const defs = spec.series(data.keys());
      el.style.display = spec.optional && defs.length === 0 ? 'none' : '';
      const sig = defs.map((d) => `${d.key}|${d.label}`).join(',');
      if (!chart || sig !== signature) {
        chart?.destroy();
        chart = build(defs);
        signature = sig;
      }
      const cols = data.columns(defs.map((d) => d.key));
      chart.batch(() => {
        chart!.setData(cols as uPlot.AlignedData, range === undefined);
        if (range) chart!.setScale('x', { min: range[0], max: range[1] });
      });
      el.dataset.points = String(cols[0].length);
      const latest = data.latest() ?? {};
      values.textContent = defs
        .filter((d) => d.key in latest)
        .slice(0, 4)
        .map((d) => `${d.label} ${fmt(latest[d.key])}`)
        .join(' · ');
    },
    restyle() {
      signature = '';
    },
    destroy() {
      resize.disconnect();
      chart?.destroy();
      el.remove();
    },
  };
}
