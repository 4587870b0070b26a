/**
 * Reads the `llm.*` signals (docs/llm.md: llm.waiting, llm.running, llm.kv_util, llm.ttft.p95,
 * llm.itl.p50, llm.tokens_out_rps, ...) from an Observation for the LLM built-ins. A signal is read
 * as the catalogue defines it (src/signals/catalog.ts) when it is there, else from the
 * observation's nested `llm` object (`llm.ttft.p95` is `observation.llm.ttft.p95`), else from its
 * custom `metrics` under the full name. Absent, NaN or not a number: undefined (nil in Lua), never 0.
 */
import type { Observation } from '../policy.js';
import { readMetric } from './read-metric.js';

/** The value of `llm.<name>` (`waiting`, `ttft.p95`) in `obs`, or undefined. */
export function llmSignal(obs: Observation, name: string): number | undefined {
  const full = `llm.${name}`;
  const v = readMetric(obs, full);
  if (v !== undefined) return v;
  let at: unknown = (obs as unknown as { llm?: unknown }).llm;
  for (const part of name.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}
