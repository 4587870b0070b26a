/** Consumers and their API keys: generating, hashing and checking keys for the gateway's authenticate stage. */
export { createKeyVerifier, generateKey, hashKey, keyIdOf, matches } from './api-keys.js';
export type { KeyVerifierOptions, NewKey } from './api-keys.js';
