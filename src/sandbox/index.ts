/** The Lua policy sandbox: loading policies in this thread, or in a worker with a wall-clock deadline. */
export {
  loadLuaPolicy,
  isModuleStyle,
  DEFAULT_SANDBOX_LIMITS,
  type SandboxLimits,
  type LoadLuaPolicyOptions,
  type LuaPolicy,
} from './lua-policy.js';
export {
  startSandboxWorker,
  type SandboxWorker,
  type SandboxWorkerOptions,
  type SandboxCall,
  type SandboxPolicySpec,
} from './sandbox-worker.js';
