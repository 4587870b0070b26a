/**
 * Normalises a service's `scaling` section for the decision core: durations in ms, HPA-style
 * change-limit rules. The shape matches `ScalingSpec`/`Behavior` in src/controller/decision.ts
 * structurally (config sits below the controller and does not import it).
 */
import { parseDuration } from '../core/duration.js';
import type { Config, PolicyRefConfig, ScalingConfig } from './schema.js';
import type { Slo } from '../policy/policy.js';
import { LuascaleError } from '../core/errors.js';

/** A policy reference: a Lua file (resolved against the config's directory) or a built-in. */
export type PolicyRef = { file: string } | { builtin: string; params: Record<string, unknown> };

/** One direction's normalised behaviour. */
export interface DirectionSettings {
  stabilizationMs: number;
  rules: Array<{ type: 'pods' | 'percent'; value: number; periodMs: number }>;
  select: 'max' | 'min' | 'disabled';
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
  slo?: Slo;
  behavior: {
    scaleUp: DirectionSettings;
    scaleDown: DirectionSettings;
    tolerance: number;
    cooldownMs: number;
    panic: { enabled: boolean; threshold: number; holdMs: number };
  };
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
  return {
    service,
    min: s.min,
    max: s.max,
    intervalMs: parseDuration(s.interval),
    windowMs: parseDuration(s.window),
    policy: policyRef(s.policy, baseDir),
    params: { ...s.params },
    startupMs: s.startup === undefined ? undefined : parseDuration(s.startup),
    slo: s.slo,
    behavior: {
      scaleUp: direction(s.behavior.scale_up),
      scaleDown: direction(s.behavior.scale_down),
      tolerance: s.behavior.tolerance,
      cooldownMs: parseDuration(s.behavior.cooldown),
      panic: {
        enabled: s.behavior.panic.enabled,
        threshold: s.behavior.panic.threshold,
        holdMs: parseDuration(s.behavior.panic.hold),
      },
    },
    limits: {
      instructions: s.limits.instructions,
      memoryBytes: Math.round(s.limits.memory_mb * 1024 * 1024),
      timeoutMs: parseDuration(s.limits.timeout),
    },
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
