/** Admission that admits everything at once: for services without limits and for tests. */
import type { AdmissionLike, AdmitResult } from './seams.js';

const permit = { release() {} };
const admitted: AdmitResult = { ok: true, permit, queuedMs: 0 };
const resolved = Promise.resolve(admitted);

/** An admission with no rate limit, no concurrency limit and no queue. */
export function openAdmission(): AdmissionLike {
  let ready = 0;
  return {
    admit: () => resolved,
    setReadyInstances(n) {
      ready = n;
    },
    stats: () => ({ queue: 0, inflight: 0, limit: ready > 0 ? Infinity : 0 }),
  };
}
