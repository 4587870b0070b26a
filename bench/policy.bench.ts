/**
 * CPU per evaluate() of the built-in policies over 4 hours of 1-s ticks on a seasonal load,
 * state carried from tick to tick as the controller does; predictive's refits are included.
 * `target-tracking` is the peer in the same run (a few arithmetic operations per call).
 * Replaces a timed unit test: speed is measured here, not asserted in tests.
 */
import type { Emit } from './run.js';
import { loadBuiltin } from '../src/policy/builtins.js';
import type { Policy } from '../src/policy/policy.js';
import { testContext } from '../test/helpers/policy-context.js';

const HOURS = 4;

/** 200 req/s, except 800 from minute 30 to 44 of every hour: a rise a forecast can learn. */
function hourly(t: number): number {
  const minute = Math.floor(t / 60_000) % 60;
  return minute >= 30 && minute < 45 ? 800 : 200;
}

/** µs per evaluate() over HOURS of 1-s ticks. */
function perCall(policy: Policy): number {
  const state: Record<string, unknown> = {};
  let replicas = 3;
  const ticks = HOURS * 3600;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ticks; i++) {
    const now = i * 1000;
    const rps = hourly(now);
    const cpu = Math.min(100, (rps / (replicas * 100)) * 100);
    const out = policy.evaluate(testContext({ rps, cpu, replicas, ready: replicas }, { now, state }));
    if (out.ok) {
      if (out.state) Object.assign(state, out.state);
      replicas = Math.max(1, out.replicas);
    }
  }
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / ticks;
}

export default async function run(emit: Emit): Promise<void> {
  const tracking = () => loadBuiltin('target-tracking', { metric: 'rps', target: 100 });
  perCall(tracking()); // warm-up: the first policy measured would otherwise pay the JIT's start
  const peer = perCall(tracking());
  for (const [name, params] of [
    ['predictive', { capacity: 100, season: '1h' }],
    ['kpa', { metric: 'rps', target: 100 }],
    ['hpa', { metric: 'rps', target: 100 }],
  ] as const) {
    const us = perCall(loadBuiltin(name, params));
    emit({
      name: `policy_evaluate_${name}`,
      value: Math.round(us * 10) / 10,
      unit: 'us_cpu_per_call',
      target_tracking_us: Math.round(peer * 10) / 10,
      ratio_to_target_tracking: Math.round((us / peer) * 10) / 10,
      ticks: HOURS * 3600,
    });
  }
}
