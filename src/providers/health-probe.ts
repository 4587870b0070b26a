/** One HTTP health probe: 2xx within the timeout means healthy (Kubernetes httpGet probe semantics). */
import { request } from 'undici';

/** What one probe saw: `ok` on a 2xx; otherwise the status it got or the error that stopped it. */
export interface ProbeResult {
  ok: boolean;
  /** The HTTP status, when an answer arrived. */
  status?: number;
  /** The error code (`ECONNREFUSED`, `timeout`, …) when no answer arrived. */
  error?: string;
}

/** GETs `url`; resolves what it saw within `timeoutMs` (2xx is `ok`). Never rejects. */
export async function probeHealth(url: string, timeoutMs: number): Promise<ProbeResult> {
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
    return { ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode };
  } catch (err) {
    return { ok: false, error: probeError(err, timeoutMs) };
  }
}

/** `GET /healthz → 500`, `GET /healthz → ECONNREFUSED`: a probe result for messages. */
export function describeProbe(path: string, result: ProbeResult | undefined): string {
  if (!result) return `no probe of GET ${path} completed`;
  return `last probe GET ${path} → ${result.status ?? result.error ?? 'no answer'}`;
}

function probeError(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  if (
    e?.name === 'TimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT'
  )
    return `no answer within ${timeoutMs} ms`;
  return e?.cause?.code ?? e?.code ?? (err as Error)?.message ?? String(err);
}
