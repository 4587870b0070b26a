/**
 * Fixed targets that luascale routes to but does not run. Scaling is advisory: launch, drain and
 * stop record what luascale would have done (and the replica count that would result) and change
 * nothing; `list()` always returns the configured targets as ready. Health is the gateway's job.
 */
import { LuascaleError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Instance, Provider, ProviderEvents } from '../controller/provider.js';
import { Listeners } from './listeners.js';

/** Options of {@link StaticProvider}. */
export interface StaticProviderOptions {
  service: string;
  /** Base URLs, e.g. `http://10.0.0.5:8080`. */
  targets: string[];
  clock?: Clock;
}

/** One piece of advice: what a real provider would have done. */
export interface Advice {
  action: 'launch' | 'drain' | 'stop';
  /** The target concerned (drain, stop). */
  id?: string;
  /** Wall-clock ms. */
  at: number;
  /** Replica count that would result from all advice so far. */
  wouldBe: number;
}

/** The advisory provider for fixed targets; implements the controller's {@link Provider}. */
export class StaticProvider implements Provider {
  readonly kind = 'static';
  readonly advisory = true;
  readonly service: string;
  readonly #targets: Instance[];
  readonly #clock: Clock;
  readonly #events = new Listeners<ProviderEvents>();
  readonly #advice: Advice[] = [];
  #wouldBe: number;
  #closed = false;

  constructor(options: StaticProviderOptions) {
    this.service = options.service;
    this.#clock = options.clock ?? systemClock;
    const at = this.#clock.wallNow();
    this.#targets = options.targets.map((target, n) => {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
          service: options.service,
          reason: `target ${n}: not a URL: "${target}"`,
        });
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
          service: options.service,
          reason: `target ${n}: expected an http(s) URL, got "${target}"`,
        });
      }
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      return {
        id: `static_${n}`,
        service: options.service,
        url: url.origin,
        state: 'ready' as const,
        startedAt: at,
        readyAt: at,
        port,
      };
    });
    this.#wouldBe = this.#targets.length;
  }

  /** The configured targets, always ready. */
  list(): Instance[] {
    return this.#targets.map((t) => ({ ...t }));
  }

  /** Records "launch one"; resolves a placeholder in state `stopped` that is never listed. */
  async launch(): Promise<Instance> {
    this.#check();
    const advice = this.#record('launch');
    return {
      id: `advisory_${this.#advice.length}`,
      service: this.service,
      url: '',
      state: 'stopped',
      startedAt: advice.at,
      failure: 'advisory: static targets are fixed',
    };
  }

  /** Records "drain this target". */
  async drain(id: string): Promise<void> {
    this.#check(id);
    this.#record('drain', id);
  }

  /** Records "stop this target". */
  async stop(id: string): Promise<void> {
    this.#check(id);
    this.#record('stop', id);
  }

  /** Nothing to release; further launch/stop calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Static targets never change, so no event is ever emitted; subscribing is still allowed. */
  on<E extends keyof ProviderEvents>(event: E, listener: ProviderEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  /** Everything luascale would have done, oldest first. */
  advice(): Advice[] {
    return this.#advice.map((a) => ({ ...a }));
  }

  #check(id?: string): void {
    if (this.#closed)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: 'provider is closed',
      });
    if (id !== undefined && !this.#targets.some((t) => t.id === id)) {
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: `no live instance ${id}`,
      });
    }
  }

  #record(action: Advice['action'], id?: string): Advice {
    if (action === 'launch') this.#wouldBe++;
    if (action === 'stop') this.#wouldBe = Math.max(0, this.#wouldBe - 1);
    const advice: Advice = {
      action,
      ...(id !== undefined ? { id } : {}),
      at: this.#clock.wallNow(),
      wouldBe: this.#wouldBe,
    };
    this.#advice.push(advice);
    return advice;
  }
}
