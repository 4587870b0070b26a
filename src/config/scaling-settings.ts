/**
 * Normalises a service's `scaling` section for the decision core: durations in ms, HPA-style
 * change-limit rules. The shape matches `ScalingSpec`/`Behavior` in src/controller/decision.ts
 * structurally (config sits below the controller and does not import it).
 */
import { isDeepStrictEqual } from 'node:util';
import { parseDuration } from '../core/duration.js';
import { Behavior, type Config, type PolicyRefConfig, type ScalingConfig } from './schema.js';
import { applyDefaults } from './defaults.js';
import { BUILTIN_BEHAVIOR, type BuiltinBehaviorHints } from './builtin-behavior.js';
import { LuascaleError } from '../core/errors.js';

/** A policy reference: a Lua file (resolved against the config's directory) or a built-in. */
export type PolicyRef = { file: string } | { builtin: string; params: Record<string, unknown> };

/** One direction's normalised behaviour. */
export interface DirectionSettings {
  stabilizationMs: number;
  rules: Array<{ type: 'pods' | 'percent'; value: number; periodMs: number }>;
  select: 'max' | 'min' | 'disabled';
}

/** The normalised behaviour (structurally the controller's `Behavior`). */
export interface BehaviorSettings {
  scaleUp: DirectionSettings;
  scaleDown: DirectionSettings;
  tolerance: number;
  cooldownMs: number;
  panic: { enabled: boolean; threshold: number; holdMs: number };
}

/** The scaling section, normalised. */
export interface ScalingSettings {
  service: string;
  min: number;
  max: number;
  intervalMs: number;
  /** Window the gateway's signals are averaged over each tick. */
  windowMs: number;
  policy: PolicyRef;
  params: Record<string, unknown>;
  startupMs?: number;
  /** Structurally the policy contract's `Slo` (src/policy/policy.ts). */
  slo?: ScalingConfig['slo'];
  behavior: BehaviorSettings;
  /**
   * Whether the section set a `behavior` of its own (one that differs from the defaults). When it
   * did not, a built-in's BUILTIN_BEHAVIOR hints are already applied to `behavior`.
   */
  behaviorExplicit: boolean;
  limits: { instructions: number; memoryBytes: number; timeoutMs: number };
}

/** Normalises `services.<name>.scaling` of a loaded config. */
export function scalingFromConfig(config: Config, service: string, baseDir = '.'): ScalingSettings {
  const svc = config.services[service];
  if (!svc) {
    throw new LuascaleError('LS_ERR_CLI_USAGE', {
      reason: `no service "${service}" in the config (services: ${Object.keys(config.services).join(', ')})`,
    });
  }
  return normaliseScaling(service, svc.scaling, baseDir);
}

/** Normalises one scaling section (already defaulted by the loader). */
export function normaliseScaling(service: string, s: ScalingConfig, baseDir = '.'): ScalingSettings {
  const policy = policyRef(s.policy, baseDir);
  // The loader has filled the defaults, so "not set" is read as "equal to the defaults".
  const behaviorExplicit = !isDeepStrictEqual(s.behavior, defaultBehaviorSection());
  const behavior = normaliseBehavior(s.behavior);
  const hints = 'builtin' in policy ? BUILTIN_BEHAVIOR[policy.builtin] : undefined;
  return {
    service,
    min: s.min,
    max: s.max,
    intervalMs: parseDuration(s.interval),
    windowMs: parseDuration(s.window),
    policy,
    params: { ...s.params },
    startupMs: s.startup === undefined ? undefined : parseDuration(s.startup),
    slo: s.slo,
    behavior: hints && !behaviorExplicit ? hintedBehavior(behavior, hints) : behavior,
    behaviorExplicit,
    limits: {
      instructions: s.limits.instructions,
      memoryBytes: Math.round(s.limits.memory_mb * 1024 * 1024),
      timeoutMs: parseDuration(s.limits.timeout),
    },
  };
}

let defaultSection: unknown;
function defaultBehaviorSection(): unknown {
  defaultSection ??= applyDefaults(Behavior, {});
  return defaultSection;
}

function normaliseBehavior(b: ScalingConfig['behavior']): BehaviorSettings {
  return {
    scaleUp: direction(b.scale_up),
    scaleDown: direction(b.scale_down),
    tolerance: b.tolerance,
    cooldownMs: parseDuration(b.cooldown),
    panic: { enabled: b.panic.enabled, threshold: b.panic.threshold, holdMs: parseDuration(b.panic.hold) },
  };
}

/**
 * `behavior` with a built-in's BUILTIN_BEHAVIOR hints applied: what a service (or a simulation)
 * that sets no `behavior` of its own runs the built-in under.
 */
export function hintedBehavior(
  behavior: BehaviorSettings,
  hints: Readonly<BuiltinBehaviorHints>,
): BehaviorSettings {
  const off: DirectionSettings = { stabilizationMs: 0, rules: [], select: 'max' };
  return {
    scaleUp: hints.rateLimits === false ? { ...off } : behavior.scaleUp,
    scaleDown: {
      ...(hints.rateLimits === false ? off : behavior.scaleDown),
      stabilizationMs: hints.scaleDownStabilizationMs ?? behavior.scaleDown.stabilizationMs,
    },
    tolerance: hints.tolerance ?? behavior.tolerance,
    cooldownMs: behavior.cooldownMs,
    panic: { ...behavior.panic, enabled: hints.panic ?? behavior.panic.enabled },
  };
}

/** Parses `builtin:NAME` and file paths alike (the CLI's policy argument). */
export function policyRef(ref: PolicyRefConfig, baseDir = '.'): PolicyRef {
  if (typeof ref === 'string') {
    if (ref.startsWith('builtin:')) return { builtin: ref.slice('builtin:'.length), params: {} };
    return { file: ref.startsWith('/') ? ref : `${baseDir.replace(/\/$/, '')}/${ref}` };
  }
  return { builtin: ref.builtin, params: { ...ref.params } };
}

function direction(d: ScalingConfig['behavior']['scale_up']): DirectionSettings {
  const periodMs = parseDuration(d.max_step.period);
  const rules: DirectionSettings['rules'] = [];
  if (d.max_step.pods !== undefined) rules.push({ type: 'pods', value: d.max_step.pods, periodMs });
  if (d.max_step.percent !== undefined) rules.push({ type: 'percent', value: d.max_step.percent, periodMs });
  return { stabilizationMs: parseDuration(d.stabilization), rules, select: d.max_step.select };
}
