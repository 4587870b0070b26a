export * from './errors.js';
export * from './clock.js';
export * from './ids.js';
export * from './duration.js';
export * from './format-time.js';
