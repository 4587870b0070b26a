/** The signal catalogue and the helpers that read signals by name: the one vocabulary of signals. */
export * from './catalog.js';
export * from './signal-values.js';
