/**
 * Wiring of the engine signals and the llm balancer (issue 20) for AI services whose `llm.engine`
 * is set or whose `llm.routing.balancer` is `llm` (the default): per service a scrape loop reads
 * every ready instance's `/metrics` once per interval (src/llm/engines), the llm balancer takes the
 * service's picks (src/llm/routing), admission holds requests while every instance is saturated,
 * and the controller's observation gains the `llm.*` group (engine figures, else the front door's
 * stream measurements through `signals.recorder`).
 */
import type { Config } from '../config/schema.js';
import type { LlmConfig } from '../config/llm-schema.js';
import { parseDuration } from '../core/duration.js';
import type { Balancer } from '../gateway/balancer.js';
import { createEngineScraper, type EngineScraper, type ScrapeTarget } from '../llm/engines/engine-scraper.js';
import type { Engine } from '../llm/engines/engine-names.js';
import { createLlmBalancer, type LlmBalancer } from '../llm/routing/llm-balancer.js';
import { LlmInstanceStates } from '../llm/routing/llm-instance-states.js';
import { LlmServiceSignals } from '../llm/routing/llm-service-signals.js';

interface ServiceRouting {
  states: LlmInstanceStates;
  balancer: LlmBalancer | undefined;
  scraper: EngineScraper;
  held: boolean;
}

/** The engine and routing side of the config's AI services. */
export interface LlmRouting {
  /** The llm balancer of `service`, or undefined (not an AI service, or `routing.balancer: service`). */
  balancer(service: string): Balancer | undefined;
  /** Admission's hold gate of `service`: true while every instance is saturated. */
  hold(service: string): (() => boolean) | undefined;
  /** The llm.* groups, and the recorder the front door reports streams to. */
  readonly signals: LlmServiceSignals;
  /** Scrapes every AI service's instances once; `after(service)` runs when one is done (admission.tick). */
  scrapeAll(
    targets: (service: string) => readonly ScrapeTarget[],
    after?: (service: string) => void,
  ): Promise<void>;
}

/** The engine and routing wiring of the config, or undefined when no service has `llm:`. */
export function llmRoutingFromConfig(
  config: Config,
  options: { now: () => number; intervalMs: number },
): LlmRouting | undefined {
  const services = new Map<string, ServiceRouting>();
  const allStates = new Map<string, LlmInstanceStates>();
  for (const [name, svc] of Object.entries(config.services)) {
    const llm = svc.llm as (LlmConfig & { engine?: Engine; routing?: LlmConfig['routing'] }) | undefined;
    if (llm === undefined) continue;
    const engine = (llm.engine ?? 'none') as Engine;
    const routing = llm.routing;
    // values older than three intervals are stale (a missed scrape or two, then unknown)
    const states = new LlmInstanceStates({ maxAgeMs: 3 * options.intervalMs });
    allStates.set(name, states);
    const balancer =
      (routing?.balancer ?? 'llm') === 'llm'
        ? createLlmBalancer({
            states,
            routing: {
              queue_threshold: routing?.queue_threshold,
              kv_threshold: routing?.kv_threshold,
              weights: routing?.weights,
              prefix_capacity: routing?.prefix_capacity,
            },
          })
        : undefined;
    const scraper = createEngineScraper({
      engine,
      states,
      now: options.now,
      timeoutMs: routing?.scrape_timeout === undefined ? 500 : parseDuration(routing.scrape_timeout),
    });
    services.set(name, { states, balancer, scraper, held: false });
  }
  if (services.size === 0) return undefined;
  const signals = new LlmServiceSignals({
    now: options.now,
    states: allStates,
    maxAgeMs: 3 * options.intervalMs,
  });

  async function scrapeAll(
    targets: (service: string) => readonly ScrapeTarget[],
    after?: (service: string) => void,
  ): Promise<void> {
    await Promise.all(
      [...services].map(async ([name, r]) => {
        const list = targets(name);
        const result = await r.scraper.scrape(list);
        const now = options.now();
        if (result.ok > 0) signals.setEngine(name, result.service, now);
        r.held = r.balancer !== undefined && r.balancer.saturated(list, now);
        after?.(name);
      }),
    );
  }

  return {
    balancer: (service) => services.get(service)?.balancer,
    hold(service) {
      const r = services.get(service);
      return r?.balancer === undefined ? undefined : () => r.held;
    },
    signals,
    scrapeAll,
  };
}

/** Gateway options with each AI service's llm balancer set as its `balancer.custom`. */
export function withLlmBalancers<T extends { services: Record<string, { balancer?: object }> }>(
  options: T,
  routing: LlmRouting | undefined,
): T {
  if (routing === undefined) return options;
  const services: Record<string, { balancer?: object }> = {};
  for (const [name, svc] of Object.entries(options.services)) {
    const custom = routing.balancer(name);
    services[name] = custom === undefined ? svc : { ...svc, balancer: { ...svc.balancer, custom } };
  }
  return { ...options, services };
}
