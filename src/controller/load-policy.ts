/**
 * Turns a policy reference (a Lua file or `{ builtin, params }`) into a loaded `Policy`.
 * The live controller, the simulator, `luascale eval` and `luascale check` all load policies here.
 */
import { existsSync } from 'node:fs';
import { LuascaleError } from '../core/errors.js';
import type { Policy } from '../policy/policy.js';
import { loadBuiltin } from '../policy/builtins.js';
import { loadLuaPolicy } from '../sandbox/lua-policy.js';
import type { PolicyRef } from '../config/scaling-settings.js';
import { scalingDefaults } from '../config/scaling-defaults.js';

/** Sandbox limits for a Lua policy. */
export interface PolicyLimits {
  instructions?: number;
  memoryBytes?: number;
}

/** Parses a CLI policy argument: `builtin:NAME` or a file path. */
export function parsePolicyArg(arg: string, params: Record<string, unknown> = {}): PolicyRef {
  return arg.startsWith('builtin:') ? { builtin: arg.slice('builtin:'.length), params } : { file: arg };
}

/** A policy reference, or Lua source text (the admin API's hot reload and dry run). */
export type PolicySource = PolicyRef | { source: string; name?: string };

/**
 * Loads a policy; throws LuascaleError for a missing file, a Lua syntax error or bad built-in params.
 * Limits not given are the config's `scaling.limits` defaults (one source for `up`, eval, check, simulate).
 */
export async function loadPolicy(ref: PolicySource, given: PolicyLimits = {}): Promise<Policy> {
  if ('builtin' in ref) return loadBuiltin(ref.builtin, ref.params);
  const d = scalingDefaults().limits;
  const limits = {
    instructions: given.instructions ?? d.instructions,
    memoryBytes: given.memoryBytes ?? d.memoryBytes,
  };
  if ('source' in ref)
    return loadLuaPolicy({ source: ref.source, chunkName: ref.name ?? 'policy.lua', limits });
  if (!existsSync(ref.file)) throw new LuascaleError('LS_ERR_POLICY_NOT_FOUND', { file: ref.file });
  return loadLuaPolicy({ file: ref.file, limits });
}
