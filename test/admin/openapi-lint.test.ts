/**
 * Issue 16 item 11: the admin API's served /openapi.json passes a standard linter (Redocly's
 * `recommended` ruleset: 0 errors, 0 warnings) and a typed client generated from it
 * (openapi-typescript) typechecks a small usage: operations by operationId, request bodies,
 * responses, and the metric point pair.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import ts from 'typescript';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import { buildAdminServer, type AdminBackend } from '../../src/admin/admin-server.js';

// The document does not depend on the backend; no route is called but /openapi.json.
const app = await buildAdminServer({
  host: '127.0.0.1',
  port: 0,
  token: '',
  backend: {} as AdminBackend,
});
await app.listen({ host: '127.0.0.1', port: 0 });
after(() => app.close());
const served = await (async () => {
  const r = await request(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/openapi.json`);
  assert.equal(r.statusCode, 200);
  return r.body.text();
})();

test('/openapi.json is clean under Redocly recommended rules: 0 errors, 0 warnings', async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: served, absoluteRef: '/openapi.json', config });
  assert.deepEqual(
    problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`),
    [],
  );
});

test('a typed client generated from /openapi.json typechecks a usage by operationId', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-admin-client-'));
  try {
    writeFileSync(join(dir, 'admin-api.ts'), astToString(await openapiTS(JSON.parse(served))));
    writeFileSync(
      join(dir, 'usage.ts'),
      `import type { components, operations, paths } from './admin-api';

type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type ScaleBody = Json<NonNullable<operations['scaleService']['requestBody']>>;
type ScaleAnswer = Json<operations['scaleService']['responses'][200]>;
type Services = Json<operations['listServices']['responses'][200]>;
type Series = Json<operations['queryMetrics']['responses'][200]>;
type Failure = Json<operations['getService']['responses'][404]>;

export const body: ScaleBody = { replicas: 3, ttl: '10m' };
export function clamped(a: ScaleAnswer): boolean {
  return a.clamped && a.replicas >= 0;
}
export function names(s: Services): string[] {
  return s.map((x) => x.name);
}
export function lastValue(s: Series): number | undefined {
  const p: [number, number] | undefined = s.points[s.points.length - 1];
  return p?.[1];
}
export function code(f: Failure): string {
  return f.error.code;
}
export const point: components['schemas']['MetricSeries']['points'][number] = [1, 2];
export type PauseAt = paths['/v1/services/{name}/pause']['post']['parameters']['path']['name'];
// @ts-expect-error replicas is a number
export const wrong: ScaleBody = { replicas: 'three' };
// @ts-expect-error a point is a pair of numbers
export const badPoint: components['schemas']['MetricSeries']['points'][number] = ['x', 2];
`,
    );
    const program = ts.createProgram([join(dir, 'usage.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      types: [],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(diagnostics, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
