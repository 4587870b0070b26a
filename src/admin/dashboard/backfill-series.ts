/// <reference lib="dom" />
/**
 * Back-fills the service page's charts from the store (`GET /v1/metrics/query`): the catalogue's
 * history signals under their chart keys, and the derived admitted and starting series.
 */
import type { ApiClient } from './api-client.js';
import type { LiveSeries } from './live-series.js';
// The catalogue only (no compiled readers: the page runs under a CSP without eval).
import { SIGNALS } from '../../signals/catalog.js';
import { LLM_CHARTED, chartKey } from './llm-charts.js';

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
  ...LLM_CHARTED.map(chartKey),
]);
/** Stored metric (a catalogue history signal) → chart key (its label). */
const HISTORY_KEYS: Record<string, string> = Object.fromEntries(
  SIGNALS.filter((s) => s.history && CHARTED.has(s.label)).map((s) => [s.name, s.label]),
);

/** Options of {@link backfillSeries}: where to read and how far back (`15m`, `1h`, …). */
export interface BackfillOptions {
  api: ApiClient;
  service: string;
  window: string;
}

/** Reads the stored history of one service into `into`; a metric that fails to load stays empty. */
export async function backfillSeries(into: LiveSeries, options: BackfillOptions): Promise<void> {
  const { api, service, window } = options;
  type Points = Array<[number, number]>;
  const results = await Promise.all(
    Object.keys(HISTORY_KEYS).map((m) =>
      api.metric(service, m, window).then(
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
