/**
 * {@link callAdmin} for the commands' `register` modules: the admin client (undici, and the config
 * loader when a config names the API) loads on the first call, not when the program is built, so
 * `luascale --help` and `luascale keys --help` start without it.
 */
import type { AdminCall } from './admin-client.js';
import type { ConnOpts } from './connection-options.js';

/** Calls the admin API (see admin-client.ts's callAdmin); the client module loads on first use. */
export async function callAdmin(o: ConnOpts, req: AdminCall): Promise<any> {
  const client = await import('./admin-client.js');
  return client.callAdmin(o, req);
}
