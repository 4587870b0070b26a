/** One HTTP health probe: 2xx within the timeout means healthy (Kubernetes httpGet probe semantics). */
import { request } from 'undici';

/** GETs `url`; resolves true on a 2xx answer within `timeoutMs`, false on anything else. Never rejects. */
export async function probeHealth(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(url, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      // One probe must not reuse a socket to a process that may have just been replaced on the same port.
      reset: true,
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300;
  } catch {
    return false;
  }
}
