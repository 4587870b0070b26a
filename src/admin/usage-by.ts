/**
 * The usage ledger's group keys, on their own so that `luascale usage --help` names them without
 * loading the admin routes (typebox) at startup; usage-routes.ts re-exports them.
 */

/** The group keys, as the ledger knows them. */
export const USAGE_BY = ['day', 'service', 'consumer', 'keyId', 'model', 'backend'] as const;
