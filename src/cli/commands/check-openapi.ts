/**
 * `luascale check luascale.yaml`, OpenAPI part: imports each service's document as `up` does (a
 * broken one is refused with LS_ERR_OPENAPI_INVALID, file and JSON pointer) and says what it
 * imported: operations, the gateway routes the service gets, operations with an SLO, and whether
 * requests are validated. What the import took from a document that breaks the spec (a repeated
 * operationId, ...) comes back as warnings: printed, the check still passes.
 */
import { resolve } from 'node:path';
import { isLuascaleError } from '../../core/errors.js';
import type { LoadedConfig } from '../../config/load-config.js';
import { importOpenApi } from '../../openapi/import-openapi.js';
import { serviceOptions } from '../../app/gateway-options.js';
import { table } from '../table.js';

/** What one service imported from its document. */
export interface OpenApiSummary {
  service: string;
  file: string;
  operations: number;
  /** Gateway routes of the service: one per operation plus the config's `routes`. */
  routes: number;
  /** Operations with an SLO (their own, their path's or the document's `x-luascale-slo`). */
  slo_operations: number;
  validate_requests: boolean;
}

/** One checked document: the summary when it imported, else the error. */
export interface OpenApiCheck {
  target: string;
  ok: boolean;
  message: string;
  openapi?: OpenApiSummary;
  /** The import's warnings (`file:line: message`). */
  warnings?: string[];
}

/** Imports every service's OpenAPI document of a loaded config. */
export async function checkOpenApi(loaded: LoadedConfig): Promise<OpenApiCheck[]> {
  const out: OpenApiCheck[] = [];
  for (const [service, svc] of Object.entries(loaded.config.services)) {
    if (!svc.openapi) continue;
    const file = resolve(loaded.baseDir, svc.openapi);
    try {
      // `check` also validates the whole document against the OpenAPI JSON Schema (`up` does not).
      const api = await importOpenApi(file, { schema: true });
      const summary: OpenApiSummary = {
        service,
        file: svc.openapi,
        operations: api.operations.length,
        routes: serviceOptions(svc, api).routes.length,
        slo_operations: api.operations.filter((o) => o.slo !== undefined).length,
        validate_requests: svc.validate_requests,
      };
      out.push({
        target: svc.openapi,
        ok: true,
        message: `ok (services.${service})`,
        openapi: summary,
        ...(api.warnings.length ? { warnings: [...api.warnings] } : {}),
      });
    } catch (err) {
      if (!isLuascaleError(err)) throw err;
      out.push({ target: svc.openapi, ok: false, message: err.message });
    }
  }
  return out;
}

/** The summaries as a table (empty when no service has a document). */
export function openApiTable(summaries: OpenApiSummary[]): string {
  if (summaries.length === 0) return '';
  return table(
    ['service', 'openapi', 'operations', 'routes', 'with SLO', 'validation'],
    summaries.map((s) => [
      s.service,
      s.file,
      s.operations,
      s.routes,
      s.slo_operations,
      s.validate_requests ? 'on' : 'off',
    ]),
  );
}
