/** `luascale events -f`: follows the admin API's event stream, reconnecting when it breaks. */
import { setTimeout as delay } from 'node:timers/promises';
import { LuascaleError } from '../../core/errors.js';
import { errorCode, failure, isNetworkError, notAdmin, safeJson, send } from './admin-client.js';
import type { Connection } from './admin-connection.js';

/** How `events -f` reconnects when the stream ends: a few attempts, doubling delays. Tests shorten them. */
export const followRetry = { attempts: 5, firstDelayMs: 500, maxDelayMs: 8000 };

/**
 * Follows `/v1/events/stream` from `after` (so nothing between the listing and the stream is lost),
 * printing each event once. When the stream ends or breaks it reconnects with `after=<last id>`;
 * after {@link followRetry}.attempts failures in a row it gives up with LS_ERR_CLI_UNREACHABLE.
 */
export async function followEvents(
  c: Connection,
  service: string | undefined,
  after: number,
  print: (e: any) => void,
): Promise<never> {
  let lastId = after;
  let failures = 0;
  for (;;) {
    const q = new URLSearchParams({ ...(service ? { service } : {}), after: String(lastId) });
    const path = `/v1/events/stream?${q}`;
    let reason: string;
    let progressed = false;
    try {
      const res = await send(c, { method: 'GET', path }, 0);
      if (res.statusCode >= 400)
        throw failure(c, { method: 'GET', path }, res.statusCode, await res.body.text());
      if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.body.destroy();
        throw notAdmin(c.base, `HTTP ${res.statusCode} for GET ${path} is not an event stream`);
      }
      let buf = '';
      let blocks = 0;
      for await (const chunk of res.body) {
        buf += chunk.toString().replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          // The first block is the server's greeting; anything after it shows the connection works.
          if (++blocks > 1) progressed = true;
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (!data) continue;
          const e = safeJson(data);
          if (!e || e.type === 'signals' || typeof e.id !== 'number' || e.id <= lastId) continue;
          lastId = e.id;
          progressed = true;
          print(e);
        }
      }
      reason = 'the server ended the stream';
    } catch (err) {
      if (err instanceof LuascaleError && err.code !== 'LS_ERR_CLI_UNREACHABLE') throw err;
      if (!(err instanceof LuascaleError) && !isNetworkError(err)) throw err;
      reason = err instanceof LuascaleError ? String(err.details.reason) : errorCode(err);
    }
    if (progressed) failures = 0;
    if (failures >= followRetry.attempts)
      throw new LuascaleError('LS_ERR_CLI_UNREACHABLE', {
        url: c.base,
        reason: `event stream lost; ${failures} reconnect attempts failed, the last: ${reason}`,
      });
    await delay(Math.min(followRetry.maxDelayMs, followRetry.firstDelayMs * 2 ** failures));
    failures++;
  }
}
