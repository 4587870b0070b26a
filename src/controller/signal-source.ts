/**
 * The gateway's signals as the controller reads them each tick. The controller owns this interface
 * and the gateway implements it (the consumer-side rule of docs/architecture.md "Layers").
 */
import type { LoadSignals, OperationSignals } from '../policy/policy.js';

/** The gateway's signals as the controller reads them (the controller owns this interface). */
export interface SignalSource {
  snapshot(
    service: string,
    now: number,
  ): Partial<LoadSignals> & { operations?: Record<string, Partial<OperationSignals>> };
}
