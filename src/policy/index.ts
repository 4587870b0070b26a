/** Policies (public surface): the `Policy` contract and the registry of built-in policies. */
export * from './policy.js';
export * from './builtins.js';
