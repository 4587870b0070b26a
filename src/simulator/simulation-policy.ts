/**
 * Turns a policy argument (`builtin:NAME`, `builtin:NAME?key=value&...`, or a Lua file) into a
 * loaded policy with the interval and behaviour it runs under in a simulation.
 *
 * Policies are loaded by the controller's own loader (controller/load-policy.ts), so a simulated
 * Lua policy runs in the same sandbox and a built-in is the same code as in the live controller.
 *
 * Baselines run as their users run them (issue 5): when a built-in's target is not given it is
 * derived from the model's capacity, and the HPA and Knative built-ins run at their systems' own
 * loop periods and behaviour rather than luascale's defaults:
 * - hpa: 15 s (`--horizontal-pod-autoscaler-sync-period`), the HPA v2 default behaviour
 *   (defaultBehavior() without panic, which the HPA does not have), CPU target 70 %.
 * - kpa: 2 s (Knative `tickInterval`, pkg/autoscaler/scaling/multiscaler.go); the KPA keeps its
 *   own 60 s/6 s windows, panic and rate limits, so the core adds no tolerance, stabilization,
 *   rate limit or panic of its own. Target: rps per instance = capacity × 70 % utilisation.
 * - everything else: luascale's config defaults (1 s interval, defaultBehavior()), with the
 *   built-in's own BUILTIN_BEHAVIOR hints applied (src/config/builtin-behavior.ts), as the live config
 *   does when a service sets no `behavior`: `predictive` runs without the 300 s scale-down window,
 *   the tolerance band and panic, because its forecast margin and scale-in delay do their job.
 * `--interval` overrides the interval for any policy.
 */
import { defaultBehavior } from '../controller/decide.js';
import type { Behavior } from '../controller/decision.js';
import { loadPolicy } from '../controller/load-policy.js';
import { hintedBehavior, scalingFromConfig, type PolicyRef } from '../config/scaling-settings.js';
import { parseConfig } from '../config/load-config.js';
import type { Slo } from '../policy/policy.js';
import { BUILTIN_BEHAVIOR } from '../config/builtin-behavior.js';
import { LuascaleError } from '../core/errors.js';
import type { SimulatedPolicy } from './simulate.js';

/** What a policy argument needs from the model and the command line. */
export interface PolicySetupOptions {
  /** Requests per second per instance at 100 % CPU (targets are derived from it). */
  capacity: number;
  /** Base latency, ms (a concurrency target is derived from capacity × service time). */
  serviceMs: number;
  /** Instance startup, seconds (predictive's lead time). */
  startupS: number;
  min: number;
  max: number;
  /** Overrides every policy's decision interval. */
  intervalMs?: number;
  /** Extra params (`--set`), merged over the argument's own `?key=value` params. */
  params?: Record<string, unknown>;
  /** Sandbox limits for Lua policies. */
  limits?: { instructions?: number; memoryBytes?: number };
}

/** The loop period and behaviour each built-in's own system uses (see the header). */
export function naturalSettings(builtin: string | undefined): {
  intervalMs: number;
  windowMs: number;
  behavior: Behavior;
} {
  const behavior = defaultBehavior();
  // keda-llm-waiting is KEDA handing a metric to the HPA: the HPA's loop and behaviour.
  if (builtin === 'hpa' || builtin === 'keda-llm-waiting') {
    // metrics-server reports CPU as a rate over its 15 s resolution: one sync period's worth
    return {
      intervalMs: 15_000,
      windowMs: 15_000,
      behavior: { ...behavior, panic: { ...behavior.panic, enabled: false } },
    };
  }
  if (builtin === 'kpa') {
    return {
      intervalMs: 2_000,
      windowMs: 2_000,
      behavior: {
        scaleUp: { stabilizationMs: 0, rules: [], select: 'max' },
        scaleDown: { stabilizationMs: 0, rules: [], select: 'max' },
        tolerance: 0,
        cooldownMs: 0,
        panic: { ...behavior.panic, enabled: false },
      },
    };
  }
  const hints = builtin !== undefined ? BUILTIN_BEHAVIOR[builtin] : undefined;
  return { intervalMs: 1_000, windowMs: 2_000, behavior: hints ? hintedBehavior(behavior, hints) : behavior };
}

/** Splits `builtin:kpa?target=50&metric=rps` into the policy and its params. */
export function parsePolicySpec(arg: string): {
  ref: PolicyRef;
  params: Record<string, unknown>;
  label: string;
} {
  const q = arg.indexOf('?');
  const head = q >= 0 ? arg.slice(0, q) : arg;
  const params: Record<string, unknown> = {};
  if (q >= 0) {
    for (const pair of arg.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0)
        throw new LuascaleError('LS_ERR_CLI_USAGE', {
          reason: `${arg}: expected key=value after "?", got "${pair}"`,
        });
      params[decodeURIComponent(pair.slice(0, eq))] = parseValue(decodeURIComponent(pair.slice(eq + 1)));
    }
  }
  if (head.trim() === '') throw new LuascaleError('LS_ERR_CLI_USAGE', { reason: `empty policy in "${arg}"` });
  const ref: PolicyRef = head.startsWith('builtin:')
    ? { builtin: head.slice('builtin:'.length), params }
    : { file: head };
  return { ref, params, label: arg };
}

/** Parses a `--set` value: JSON when it parses (numbers, booleans, objects), else the string. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The params a built-in gets when the user gave no target: derived from the capacity (see header). */
export function derivedParams(
  builtin: string,
  params: Record<string, unknown>,
  o: PolicySetupOptions,
): Record<string, unknown> {
  const has = (k: string) => Object.hasOwn(params, k);
  const out = { ...params };
  if (builtin === 'kpa' && !has('target')) {
    const metric = has('metric') ? params.metric : 'rps';
    if (!has('metric')) out.metric = 'rps';
    // Knative: target × target_utilization (0.7 by default) per instance.
    out.target = metric === 'rps' ? o.capacity : Math.max(1, (o.capacity * o.serviceMs) / 1000);
  }
  if (
    builtin === 'target-tracking' &&
    !has('target') &&
    has('metric') &&
    (params.metric === 'rps' || params.metric === 'inflight' || params.metric === 'concurrency')
  ) {
    out.target = params.metric === 'rps' ? 0.7 * o.capacity : (0.7 * o.capacity * o.serviceMs) / 1000;
  }
  if (builtin === 'hpa' && !has('target') && !has('metrics') && has('metric') && params.metric === 'rps') {
    out.target = 0.7 * o.capacity;
  }
  if (builtin === 'predictive') {
    if (!has('target') && !has('capacity')) out.capacity = o.capacity;
    if (!has('startup_s')) out.startup_s = o.startupS;
  }
  return out;
}

/** Loads one policy argument for a simulation. */
export async function simulationPolicy(arg: string, o: PolicySetupOptions): Promise<SimulatedPolicy> {
  const parsed = parsePolicySpec(arg);
  const params = { ...parsed.params, ...(o.params ?? {}) };
  const builtin = 'builtin' in parsed.ref ? parsed.ref.builtin : undefined;
  const finalParams = builtin ? derivedParams(builtin, params, o) : params;
  const ref: PolicyRef = builtin ? { builtin, params: finalParams } : parsed.ref;
  const policy = await loadPolicy(ref, o.limits ?? {});
  const natural = naturalSettings(builtin);
  return {
    label: parsed.label,
    policy,
    params: finalParams,
    intervalMs: o.intervalMs ?? natural.intervalMs,
    windowMs: natural.windowMs,
    behavior: natural.behavior,
    min: o.min,
    max: o.max,
  };
}

/**
 * `--behavior` and `--slo` (JSON, or YAML flow: `{ scale_down: { stabilization: 60s } }`), read
 * as a config's `scaling.behavior` and `scaling.slo` are, with the same checks and defaults: a
 * Lua file gets behaviour and SLOs without a YAML file. Throws LS_ERR_CLI_USAGE naming the flag.
 */
export function scalingOverrides(o: { behavior?: string; slo?: string }): { behavior?: Behavior; slo?: Slo } {
  const lines = [
    'services:',
    '  sim:',
    '    provider: { static: { targets: ["http://127.0.0.1:1"] } }',
    '    scaling:',
  ];
  lines.push('      policy: { builtin: hpa }');
  const at: Record<number, string> = {};
  if (o.behavior !== undefined) {
    at[lines.length + 1] = '--behavior';
    lines.push(`      behavior: ${o.behavior.replace(/\n/g, ' ')}`);
  }
  if (o.slo !== undefined) {
    at[lines.length + 1] = '--slo';
    lines.push(`      slo: ${o.slo.replace(/\n/g, ' ')}`);
  }
  try {
    const s = scalingFromConfig(parseConfig(lines.join('\n') + '\n', 'flags', {}), 'sim');
    return {
      ...(o.behavior !== undefined ? { behavior: s.behavior } : {}),
      ...(o.slo !== undefined ? { slo: s.slo } : {}),
    };
  } catch (err) {
    const m = /^flags:(\d+) services\.sim\.scaling\.(?:behavior|slo)\.?(.*)$/s.exec((err as Error).message);
    const flag = m ? (at[Number(m[1])] ?? 'flags') : o.behavior !== undefined ? '--behavior' : '--slo';
    const reason = m ? m[2]!.trim() || 'invalid' : (err as Error).message.replace(/^flags:\d+\s*/, '');
    throw new LuascaleError('LS_ERR_CLI_USAGE', { reason: `${flag}: ${reason}` });
  }
}
