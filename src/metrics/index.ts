/** Time-windowed metrics: pure data structures, time passed in, O(1) allocation-free recording. */
export * from './sliding-window.js';
export * from './gauge-window.js';
export * from './time-weighted-gauge.js';
export * from './latency-window.js';
export * from './ewma.js';
export * from './time-series-ring.js';
