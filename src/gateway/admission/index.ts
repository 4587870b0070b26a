/** Admission: rate limits, concurrency limits, the deadline-aware queue and adaptive concurrency. */
export * from './admission.js';
export * from './admission-queue.js';
export * from './gradient-controller.js';
export * from './rate-limiter.js';
export * from './rate-limit-headers.js';
export * from './scheduler.js';
export * from './sliding-window-limiter.js';
export * from './token-bucket.js';
