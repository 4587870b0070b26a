/** One bounded HTTP GET that returns parsed JSON: the transport under both metric sources. */
import { request, type Dispatcher } from 'undici';
import { LuascaleError } from '../core/errors.js';

/** What {@link getJson} needs besides the URL. */
export interface GetJsonOptions {
  /** The whole exchange (connect, headers, body) must finish within this. */
  timeoutMs: number;
  /** Bodies above this many bytes are refused, so a wrong URL (a file download) cannot eat memory. */
  maxBytes?: number;
  dispatcher?: Dispatcher;
  /** Accept these non-2xx statuses and return their JSON too (Prometheus puts its error in a 400/422 body). */
  acceptStatus?: (status: number) => boolean;
}

/** The answer: status and parsed body. */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** GETs `url` and parses JSON; throws an Error saying what went wrong (timeout, status, bad JSON). */
export async function getJson(url: string, options: GetJsonOptions): Promise<JsonAnswer> {
  const maxBytes = options.maxBytes ?? 1 << 20;
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new LuascaleError('LS_ERR_SOURCE_TIMEOUT', { ms: options.timeoutMs })),
    options.timeoutMs,
  );
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: ac.signal,
      dispatcher: options.dispatcher,
    });
    const ok =
      (res.statusCode >= 200 && res.statusCode < 300) || options.acceptStatus?.(res.statusCode) === true;
    if (!ok) {
      const text = await readCapped(res.body, 200).catch(() => '');
      throw answerError(`answered HTTP ${res.statusCode}${text ? `: ${oneLine(text)}` : ''}`);
    }
    const text = await readCapped(res.body, maxBytes, true);
    try {
      return { status: res.statusCode, body: JSON.parse(text) };
    } catch (err) {
      if (res.statusCode >= 300)
        throw answerError(`answered HTTP ${res.statusCode}: ${oneLine(text.slice(0, 200))}`);
      throw answerError(
        `answered with invalid JSON (${(err as Error).message}): ${oneLine(text.slice(0, 80))}`,
      );
    }
  } catch (err) {
    if (ac.signal.aborted) throw new LuascaleError('LS_ERR_SOURCE_TIMEOUT', { ms: options.timeoutMs });
    throw err instanceof Error && err.message ? err : answerError(String(err));
  } finally {
    clearTimeout(timer);
  }
}

/** Reads at most `max` bytes; with `strict`, a longer body is an error rather than a truncation. */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  max: number,
  strict = false,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      if (strict) throw answerError(`answered with a body larger than ${max} bytes`);
      chunks.push(chunk.subarray(0, chunk.length - (size - max)));
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What a source's endpoint answered that is not a value (the wrapper adds which source). */
export function answerError(reason: string): LuascaleError {
  return new LuascaleError('LS_ERR_SOURCE_ANSWER', { reason });
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
