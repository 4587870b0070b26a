/** The Lua policy sandbox: loading policies in this thread, or in a worker with a wall-clock deadline. */
export { loadLuaPolicy, type LoadLuaPolicyOptions, type LuaPolicy } from './lua-policy.js';
export { isModuleStyle } from './module-style.js';
export { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './sandbox-limits.js';
export {
  startSandboxWorker,
  type SandboxWorker,
  type SandboxWorkerOptions,
  type SandboxCall,
  type SandboxPolicySpec,
} from './sandbox-worker.js';
