/// <reference lib="dom" />
/**
 * The charts of an AI service (issue 19): tokens per second in and out and time to first token,
 * from the catalogue's `llm.*` signals under their catalogue labels. Other services have none of
 * these signals, so their charts have no series and stay hidden.
 */
import { signalSpec, type SignalName } from '../../signals/catalog.js';
import { PALETTE, type ChartSpec } from './time-chart.js';

/** The `llm.*` signals the service page charts (and back-fills from the store). */
export const LLM_CHARTED = [
  'llm.tokens_in_rps',
  'llm.tokens_out_rps',
  'llm.ttft.p50',
  'llm.ttft.p95',
] as const satisfies readonly SignalName[];

/** A signal's chart key: its catalogue label. */
export const chartKey = (name: SignalName): string => signalSpec(name)!.label;

const lines =
  (...names: SignalName[]) =>
  (keys: string[]) =>
    names
      .map((n, i) => ({ key: chartKey(n), label: chartKey(n), color: PALETTE[i]! }))
      .filter((d) => keys.includes(d.key));

/** Tokens per second and time to first token; shown only while the service has them. */
export const LLM_CHARTS: ChartSpec[] = [
  {
    id: 'tokens',
    title: 'Tokens',
    unit: 'tokens/s',
    optional: true,
    series: lines('llm.tokens_in_rps', 'llm.tokens_out_rps'),
  },
  {
    id: 'ttft',
    title: 'Time to first token',
    unit: 'ms',
    optional: true,
    series: lines('llm.ttft.p50', 'llm.ttft.p95'),
  },
];

/** The charted `llm.*` values of a `signals` event (nested: `llm.ttft.p50` is `s.llm.ttft.p50`). */
export function llmSample(s: object): Record<string, number> {
  const v: Record<string, number> = {};
  for (const name of LLM_CHARTED) {
    const x = name
      .split('.')
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | null | undefined)?.[k], s);
    if (typeof x === 'number') v[chartKey(name)] = x;
  }
  return v;
}
