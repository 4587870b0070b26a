/** The bounds one Lua policy runs under: instructions, memory, logs, state and history sizes. */

/** Per-policy sandbox limits. */
export interface SandboxLimits {
  /** Lua VM instructions per evaluate() (and for running a module's top level at load). */
  instructions: number;
  /** Bytes the policy's Lua state may hold (code, ctx, its own data). */
  memoryBytes: number;
  /** The count hook's period in instructions: the budget's granularity. */
  hookEvery: number;
  /** Results above this are rejected as absurd. */
  maxReplicas: number;
  /** log()/alert() entries kept per call. */
  maxLogs: number;
  /** Characters kept per log or alert message. */
  maxLogLength: number;
  /** ctx.state bounds: entries in all, nesting depth, bytes per string. */
  maxStateEntries: number;
  maxStateDepth: number;
  maxStateString: number;
  /** Values returned by ctx.history() at most. */
  maxHistoryPoints: number;
}

/** Defaults: a seed-sized policy runs ~40 instructions in ~1 µs, so these leave room for real work. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  instructions: 1_000_000,
  memoryBytes: 8 * 1024 * 1024,
  hookEvery: 1000,
  maxReplicas: 1_000_000,
  maxLogs: 100,
  maxLogLength: 1000,
  maxStateEntries: 10_000,
  maxStateDepth: 16,
  maxStateString: 65_536,
  maxHistoryPoints: 100_000,
});
