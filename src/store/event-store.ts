/** The event log: decisions with their explanation, scale actions, instance lifecycle, alerts. */
import type { Decision } from '../controller/decision.js';
import type { Awaitable } from './store.js';

/** What an event is about (the controller's ControllerEvent types). */
export type EventType = 'decision' | 'scale' | 'instance' | 'alert' | 'policy' | 'override' | 'error';

/** An event to append. `at` is wall-clock epoch ms; `data` must be JSON-serialisable. */
export interface EventInput {
  service: string;
  type: EventType;
  at: number;
  data: unknown;
}

/** An event as stored: `id` increases monotonically and is never reused, even after pruning. */
export interface StoredEvent {
  id: number;
  service: string;
  type: EventType;
  at: number;
  data: unknown;
}

/** A page of events. Ascending ids by default; page forward with `afterId`, backward with `beforeId`. */
export interface EventQuery {
  service?: string;
  /** Only events with `at >= since` (epoch ms). */
  since?: number;
  /** Only events with `id > afterId`. */
  afterId?: number;
  /** Only events with `id < beforeId`. */
  beforeId?: number;
  /** Page size (1..10000). */
  limit: number;
  types?: EventType[];
  /** `desc` returns the newest first (the latest page). */
  order?: 'asc' | 'desc';
}

/** Append-only event log with paged reads. */
export interface EventStore {
  /**
   * Appends an event and returns its id. The write is attempted at once; if it fails the event
   * stays queued (visible to `list`, counted in `pending()`) and is retried — never dropped.
   */
  append(event: EventInput): Awaitable<number>;
  /** One page of events, including queued ones that are not yet durable. */
  list(query: EventQuery): Awaitable<StoredEvent[]>;
}

/** A decision event carries the whole Decision value (house style §3), as the admin API shows it. */
export function decisionEvent(decision: Decision, at: number): EventInput {
  return { service: decision.service, type: 'decision', at, data: decision };
}
