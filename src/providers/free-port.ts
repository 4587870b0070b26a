/** Finds a free TCP port by binding port 0 and releasing it (the OS picks an unused ephemeral port). */
import { createServer } from 'node:net';

/**
 * Resolves a port that was free a moment ago. Another process may take it before the instance binds;
 * the instance then fails to start, which the provider handles like any other start failure.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
