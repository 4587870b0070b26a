/** A chunked request body counted as it streams through, failing once it passes `max_body` (413). */
import type http from 'node:http';

/** Raised by the body limiter when a chunked body grows past max_body. */
export class BodyTooLarge extends Error {}

/** Streams `req` through, adding each chunk to `counter.bytesIn` and throwing BodyTooLarge past `max`. */
export async function* countBody(
  counter: { bytesIn: number },
  req: http.IncomingMessage,
  max: number,
): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    counter.bytesIn += (chunk as Buffer).length;
    if (counter.bytesIn > max) throw new BodyTooLarge(String(max));
    yield chunk as Buffer;
  }
}
