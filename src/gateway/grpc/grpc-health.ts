/**
 * The standard gRPC health check (grpc/grpc doc/health-checking.md): a unary call to
 * `/grpc.health.v1.Health/Check` with an empty HealthCheckRequest (all services); the instance is
 * healthy when the call ends with grpc-status 0 and the HealthCheckResponse says SERVING (1).
 * A service's `health.path` set to this path probes this way (its upstream must speak h2/h2c).
 */
import type { Dispatcher } from 'undici';

/** The health service's Check method: a `health.path` of this value probes with gRPC. */
export const GRPC_HEALTH_PATH = '/grpc.health.v1.Health/Check';

// gRPC message framing: 1 byte compressed flag, 4 bytes big-endian length, then the protobuf.
const EMPTY_REQUEST = Buffer.from([0, 0, 0, 0, 0]);
// HealthCheckResponse { status = 1 (SERVING) }: field 1, varint → tag 0x08, value 0x01.
const SERVING = Buffer.from([0x08, 0x01]);

/** One health check through `dispatcher`; true when SERVING. */
export async function grpcHealthCheck(dispatcher: Dispatcher, timeoutMs: number): Promise<boolean> {
  const res = await dispatcher.request({
    method: 'POST',
    path: GRPC_HEALTH_PATH,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    headers: { 'content-type': 'application/grpc', 'user-agent': 'luascale-health' },
    body: EMPTY_REQUEST,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const status = res.trailers['grpc-status'] ?? res.headers['grpc-status'];
  return res.statusCode === 200 && String(status) === '0' && body.subarray(5).equals(SERVING);
}
