export * from './schema.js';
export * from './load-config.js';
export * from './scaling-settings.js';
export { applyDefaults, deepFreeze } from './defaults.js';
export * from './check-listeners.js';
export * from './store-file.js';
export * from './builtin-behavior.js';
