/** A service's API description, whichever kind it names: `openapi:` (OpenAPI) or `proto:` (gRPC). */
import { resolve } from 'node:path';
import { LuascaleError } from '../core/errors.js';
import type { ServiceConfig } from '../config/schema.js';
import { importOpenApi, type ImportedApi } from '../openapi/import-openapi.js';
import { importProto } from '../openapi/import-proto.js';

/** The file a service's API description is in, with its config key, or undefined without one. */
export function apiFileOf(
  svc: ServiceConfig,
  baseDir: string,
): { key: 'openapi' | 'proto'; file: string } | undefined {
  if (svc.openapi !== undefined) return { key: 'openapi', file: resolve(baseDir, svc.openapi) };
  if (svc.proto !== undefined) return { key: 'proto', file: resolve(baseDir, svc.proto) };
  return undefined;
}

/** Imports the service's description; undefined when it has none. */
export async function importServiceApi(
  name: string,
  svc: ServiceConfig,
  baseDir: string,
): Promise<ImportedApi | undefined> {
  if (svc.openapi !== undefined && svc.proto !== undefined)
    throw new LuascaleError('LS_ERR_CLI_USAGE', {
      reason: `services.${name}: set openapi (an HTTP API) or proto (a gRPC one), not both`,
    });
  const at = apiFileOf(svc, baseDir);
  if (at === undefined) return undefined;
  return at.key === 'openapi' ? importOpenApi(at.file) : importProto(at.file);
}
