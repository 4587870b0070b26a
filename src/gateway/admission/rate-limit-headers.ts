/**
 * RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset as defined by the IETF HTTPAPI draft
 * "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers, up to -06, the form
 * Kong and most gateways emit; later drafts fold them into one structured `RateLimit` field).
 * Reset is delta-seconds until the quota is whole again. A denial adds Retry-After
 * (RFC 9110 §10.2.3, delay-seconds) telling the client when a retry can pass.
 */
import type { RateLimitVerdict } from './rate-limiter.js';

/** The response headers for a verdict (lower-case names, string values). */
export function rateLimitHeaders(v: RateLimitVerdict): Record<string, string> {
  const h: Record<string, string> = {
    'ratelimit-limit': String(v.limit),
    'ratelimit-remaining': String(v.remaining),
    'ratelimit-reset': String(v.resetS),
  };
  if (!v.ok) h['retry-after'] = String(v.retryAfterS);
  return h;
}
