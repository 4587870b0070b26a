/**
 * Scale from zero for AI services (issue 20): which services' requests go through admission before
 * the front door (those a model serves from the service's own instances), and the warm-up that
 * gates an instance's readiness (`llm.warm_up`, on by default).
 */
import { parseDuration } from '../core/duration.js';
import type { Config, ServiceConfig } from '../config/schema.js';
import { createWarmUp, type WarmUpResult } from '../llm/cold-start/warm-up.js';

/** AI services with an `instances` backend: their requests queue in admission while capacity comes. */
export function llmAdmitServices(config: Config): Set<string> {
  const out = new Set<string>();
  for (const [name, svc] of Object.entries(config.services))
    if (svc.llm !== undefined && instancesBackend(svc) !== undefined) out.add(name);
  return out;
}

/** The warm-up of an AI service's instances, or undefined (not an AI service, no instances backend, off). */
export function warmUpOf(svc: ServiceConfig): ((baseUrl: string) => Promise<WarmUpResult>) | undefined {
  const w = svc.llm?.warm_up;
  if (w === undefined || !w.enabled) return undefined;
  const b = instancesBackend(svc);
  if (b === undefined) return undefined;
  return createWarmUp({ format: b.format, model: b.model, timeoutMs: parseDuration(w.timeout) });
}

/** The first model served by the instances: its API format and the name the instances know it by. */
function instancesBackend(svc: ServiceConfig): { format: 'openai' | 'anthropic'; model: string } | undefined {
  for (const [model, m] of Object.entries(svc.llm?.models ?? {}))
    for (const b of m.backends)
      if ('instances' in b) return { format: b.instances.format, model: b.instances.model ?? model };
  return undefined;
}
