/// <reference lib="dom" />
/**
 * The service page's charts: the live window (the last 15 minutes of `signals` events, back-filled
 * from the store) or a longer range read from `GET /v1/metrics/query`; restyled on a theme change.
 */
import type { ApiClient } from './api-client.js';
import { LiveSeries } from './live-series.js';
import { createTimeChart, type ChartSpec, type TimeChart } from './time-chart.js';
import { backfillSeries } from './backfill-series.js';

/** Chart ranges: the live window, or history from `GET /v1/metrics/query`. */
export const RANGES = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400 } as const;
/** A chart range, `15m` being the live one. */
export type Range = keyof typeof RANGES;

/** Options of {@link createChartPanel}. */
export interface ChartPanelOptions {
  api: ApiClient;
  service: string;
  charts: ChartSpec[];
  /** Shows a failed read. */
  fail(err: unknown): void;
}

/** The charts of one service and how the page drives them. */
export interface ChartPanel {
  /** Adds one live sample (seconds, chart values); redrawn when the live range shows. */
  push(t: number, sample: Record<string, number>): void;
  /** Switches the range, reading the history first when it is not the live one. */
  setRange(range: Range): void;
  /** Back-fills the live window from the store, then draws. */
  backfill(): Promise<void>;
  destroy(): void;
}

/** Creates the charts inside `parent` (already in the document, so they size to it). */
export function createChartPanel(parent: HTMLElement, options: ChartPanelOptions): ChartPanel {
  const { api, service } = options;
  let range: Range = '15m';
  const live = new LiveSeries(RANGES['15m']);
  let history: LiveSeries | null = null;

  const charts: TimeChart[] = options.charts.map((spec) => createTimeChart(parent, spec));
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

  async function loadHistory() {
    if (range === '15m') return;
    history = new LiveSeries(RANGES[range]);
    await backfillSeries(history, { api, service, window: range }).catch(options.fail);
  }

  return {
    push(t, sample) {
      live.push(t, sample);
      if (range === '15m') drawCharts();
    },
    setRange(r) {
      range = r;
      void loadHistory().then(drawCharts);
    },
    backfill: () => backfillSeries(live, { api, service, window: '15m' }).then(drawCharts),
    destroy() {
      document.removeEventListener('themechange', onTheme);
      for (const c of charts) c.destroy();
    },
  };
}
