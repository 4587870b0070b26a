/**
 * Imports a gRPC service's `.proto` file (parsed by protobufjs, imports resolved from the file's own
 * directory) the way an OpenAPI document is imported: each rpc becomes an operation named
 * `package.Service/Method`, routed at `POST /package.Service/Method` (the gRPC path, PROTOCOL-HTTP2),
 * so per-method signals and SLOs exist. The luascale extensions are written as comment lines above
 * the service or the rpc, in YAML flow style, the rpc's winning field by field:
 *
 *   // x-luascale-slo: { latency_p95_ms: 80, error_rate: 0.01 }
 *   // x-luascale-timeout: 2s
 *   rpc Add (Item) returns (Item);
 */
import { parse as parseYaml } from 'yaml';
import { LuascaleError } from '../core/errors.js';
import type { ImportedApi, ImportedOperation } from './import-openapi.js';
import { extensions, type Ext } from './luascale-extensions.js';

const EXTENSION_LINE = /^\s*(x-luascale-(?:slo|rate-limit|timeout))\s*:\s*(.+?)\s*$/gm;

/** Imports `file`; throws LS_ERR_OPENAPI_INVALID naming the file and the rpc on a bad file or comment. */
export async function importProto(file: string): Promise<ImportedApi> {
  // Loaded on first use, as swagger-parser is: configs without a .proto never pay for it.
  const { default: protobuf } = await import('protobufjs');
  let root: InstanceType<typeof protobuf.Root>;
  try {
    root = new protobuf.Root().loadSync(file, { keepCase: true, alternateCommentMode: true });
    root.resolveAll();
  } catch (err) {
    throw new LuascaleError('LS_ERR_OPENAPI_INVALID', { file, pointer: '', reason: (err as Error).message });
  }
  const operations: ImportedOperation[] = [];
  const visit = (ns: InstanceType<typeof protobuf.Namespace>): void => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Service) {
        const name = n.fullName.replace(/^\./, '');
        const svcExt = commentExtensions(file, `/${name}`, n.comment);
        for (const m of n.methodsArray) {
          const path = `/${name}/${m.name}`;
          const ext = commentExtensions(file, path, m.comment);
          const slo = svcExt.slo || ext.slo ? { ...svcExt.slo, ...ext.slo } : undefined;
          operations.push({
            operationId: `${name}/${m.name}`,
            derivedId: false,
            method: 'POST',
            path,
            ...(slo ? { slo } : {}),
            ...((ext.rateLimit ?? svcExt.rateLimit) ? { rateLimit: ext.rateLimit ?? svcExt.rateLimit } : {}),
            ...((ext.timeoutMs ?? svcExt.timeoutMs) ? { timeoutMs: ext.timeoutMs ?? svcExt.timeoutMs } : {}),
            operation: {
              'x-grpc': {
                requestStream: m.requestStream === true,
                responseStream: m.responseStream === true,
              },
            },
            pathParameters: [],
          });
        }
      } else if (n instanceof protobuf.Namespace) visit(n);
    }
  };
  visit(root);
  if (operations.length === 0)
    throw new LuascaleError('LS_ERR_OPENAPI_INVALID', {
      file,
      pointer: '',
      reason: 'no service with an rpc in the file',
    });
  return { file, title: file, version: '', specVersion: 'proto', basePath: '', operations, warnings: [] };
}

/** The extension lines of a comment, read as OpenAPI extensions of that level. */
function commentExtensions(file: string, pointer: string, comment: string | null): Ext {
  if (!comment) return {};
  const obj: Record<string, unknown> = {};
  for (const [, key, value] of comment.matchAll(EXTENSION_LINE)) {
    try {
      obj[key!] = parseYaml(value!);
    } catch (err) {
      throw new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file,
        pointer: `${pointer}/${key}`,
        reason: `not YAML: ${(err as Error).message.split('\n')[0]}`,
      });
    }
  }
  return extensions(file, pointer, obj);
}
