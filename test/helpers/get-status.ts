/** GET on a fresh connection (so the workers of a cluster share the requests); resolves the status. */
import http from 'node:http';

/** Sends `GET url` with `Connection: close`, drains the body and resolves the status code. */
export function getStatus(url: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', fail);
  });
}
