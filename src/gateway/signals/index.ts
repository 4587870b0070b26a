/** Signals: what the gateway measured, per service, route, operation and instance. */
export * from './signals.js';
export * from './key-stats.js';
export * from './event-loop-lag.js';
