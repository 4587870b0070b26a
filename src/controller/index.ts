/**
 * The controller (public surface): `decide` and its Decision value, the control loop, alerts,
 * loading and trying a policy, and the interfaces it owns and others implement: `Provider`
 * (src/providers/) and `MetricSource` (src/sources/).
 */
export * from './decision.js';
export * from './decide.js';
export * from './provider.js';
export * from './metric-source.js';
export * from './service-controller.js';
export * from './alert-engine.js';
export * from './alert-notifier.js';
export * from './load-policy.js';
export * from './evaluate-once.js';
export * from './trial-policy.js';
export * from './pick-for-removal.js';
