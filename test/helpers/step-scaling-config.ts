/**
 * The config of the live scaling tests (test/e2e/live-scaling and live-vs-sim, which must stay
 * alike for the faithfulness comparison): one process-provider service of demo backends, 1..5
 * replicas, target-tracking rps 15 every second over a 2 s window, scale-down stabilization 6 s.
 */
import { resolve } from 'node:path';

/** The YAML text; the store file and instance logs go under `dir`. */
export function stepScalingConfig(dir: string, storeFile: string): string {
  const backend = resolve('examples/demo-backend/server.mjs');
  return `
gateway: { listen: "127.0.0.1:0", access_log: "off", drain_timeout: 5s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/${storeFile}" }
services:
  web:
    provider:
      process:
        command: ["${process.execPath}", "${backend}"]
        log_dir: "${dir}/logs"
        stop_grace: 5s
    scaling:
      min: 1
      max: 5
      interval: 1s
      window: 2s
      policy: { builtin: target-tracking, params: { metric: rps, target: 15 } }
      behavior:
        scale_down: { stabilization: 6s }
        panic: { hold: 4s }
    traffic:
      concurrency: { per_instance: 4 }
      queue: { max: 1000, timeout: 20s }
`;
}
