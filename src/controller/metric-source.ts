/**
 * A custom metric the controller reads each tick (an HTTP JSON endpoint, a PromQL query). The
 * controller owns this interface and src/sources/ implements it (the consumer-side rule of
 * docs/architecture.md "Layers", as Knative's autoscaler owns `UniScaler`).
 */
export interface MetricSource {
  readonly name: string;
  /** A read slower than this (default: one scaling interval) counts as a failure, so a hung source never stalls the loop. */
  readonly timeoutMs?: number;
  read(now: number): Promise<number>;
}
