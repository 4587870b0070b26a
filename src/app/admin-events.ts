/**
 * The admin API's live feed: every controller event is appended to the store and delivered to the
 * listeners (the dashboard's event stream) with its stored id; one unstored `signals` event per
 * tick and service carries what the dashboard charts.
 */
import type { Clock } from '../core/clock.js';
import type { AdminEvent } from '../admin/admin-server.js';
import type { ControllerEvent, ControllerStatus } from '../controller/service-controller.js';
import type { Decision } from '../controller/decision.js';
import type { InstanceView } from '../gateway/gateway.js';
import type { Observation } from '../policy/policy.js';
import { admittedRate, loadSignalsOf } from '../signals/index.js';
import type { Store } from '../store/index.js';

/** What {@link createAdminEvents} reads. */
export interface AdminEventsOptions {
  store: Store;
  clock: Clock;
  log: (line: string) => void;
  /** Also called with every delivered event (tests, `up --json`). */
  onEvent?: (event: AdminEvent) => void;
  status(service: string): ControllerStatus | undefined;
  instances(service: string): InstanceView[];
}

/** The feed: its listeners, and the two ways events enter it. */
export interface AdminEvents {
  readonly listeners: Set<(e: AdminEvent) => void>;
  /** Stores a controller event and delivers it with its id. */
  publish(e: ControllerEvent): void;
  /** Delivers a tick's signals (not stored; nothing happens without a listener). */
  publishSignals(service: string, d: Decision, o: Observation): void;
}

/** Creates the feed. */
export function createAdminEvents(o: AdminEventsOptions): AdminEvents {
  let nextEventId = 0;
  const listeners = new Set<(e: AdminEvent) => void>();
  const deliver = (event: AdminEvent) => {
    for (const l of listeners) l(event);
    o.onEvent?.(event);
  };
  return {
    listeners,
    publish(e) {
      try {
        const id: number | Promise<number> = o.store.events.append(e);
        if (typeof id === 'number') deliver({ id, ...e });
        else
          id.then(
            (n) => deliver({ id: n, ...e }),
            (err) => o.log(`store: ${(err as Error).message}`),
          );
      } catch (err) {
        // The store keeps a failed event queued and retries it (never dropped); show it live anyway.
        o.log(`store: ${(err as Error).message}`);
        deliver({ id: --nextEventId, ...e });
      }
    },
    publishSignals(service, d, obs) {
      if (listeners.size === 0) return;
      const st = o.status(service);
      if (!st) return;
      const gw = new Map(o.instances(service).map((i) => [i.id, i]));
      deliver({
        id: 0,
        service,
        type: 'signals',
        at: o.clock.wallNow(),
        data: {
          replicas: { desired: d.replicas, ...st.replicas },
          ...loadSignalsOf(obs),
          admitted_rps: admittedRate(obs),
          slo: obs.slo ?? null,
          reason: d.reason,
          instances: st.instances.map((i) => ({
            id: i.id,
            state: i.state,
            cpu: st.usage[i.id]?.cpu ?? null,
            memory: st.usage[i.id]?.memory ?? null,
            inflight: gw.get(i.id)?.inflight ?? 0,
          })),
        },
      });
    },
  };
}
