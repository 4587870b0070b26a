/**
 * Which local SQLite file a node opens. Alone, `store.sqlite` or `./luascale.db`. In cluster mode
 * (`store.redis`) every node still keeps a local file (its metric history and its own instance
 * records; docs/cluster.md), and the file is locked by the process that has it open, so gateways
 * started from one folder must not share it: without `store.sqlite`, a cluster node's file is named
 * after its gateway port (`./luascale-8080.db`), which is distinct per node on one machine and the
 * same across restarts of one node (so it finds its instances again).
 */
import { resolve } from 'node:path';
import { LuascaleError, isLuascaleError } from '../core/errors.js';
import type { Config } from './schema.js';

/** The default local file of a node that is alone. */
export const DEFAULT_STORE_FILE = './luascale.db';

/** The absolute path of this node's local SQLite file. */
export function localStoreFile(config: Config, baseDir: string, gatewayListen?: string): string {
  if (config.store.sqlite !== undefined) return resolve(baseDir, config.store.sqlite);
  if (!config.store.redis) return resolve(baseDir, DEFAULT_STORE_FILE);
  const port = Number(/:(\d+)$/.exec(gatewayListen ?? config.gateway.listen)?.[1] ?? 0);
  // Port 0 (an ephemeral port, tests) names no node: keep the plain default and let the lock say so.
  return resolve(baseDir, port > 0 ? `./luascale-${port}.db` : DEFAULT_STORE_FILE);
}

/**
 * A locked store file in cluster mode is two nodes on one file: says which key to set. Other
 * errors pass through unchanged.
 */
export function explainStoreLock(err: unknown, config: Config): unknown {
  if (!config.store.redis || !isLuascaleError(err, 'LS_ERR_STORE_OPEN')) return err;
  if (!/locked/.test(String(err.details.reason))) return err;
  return new LuascaleError(
    'LS_ERR_STORE_OPEN',
    {
      ...err.details,
      reason: `${String(err.details.reason)}; in cluster mode each node needs a local file of its own: set store.sqlite (e.g. ./luascale-<node>.db) for each`,
    },
    { cause: err },
  );
}
