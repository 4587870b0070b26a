/**
 * The routes that read and steer services: list and detail, manual overrides (scale), pause and
 * resume, policy reload, and the policy dry run.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { LuascaleError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import * as S from './admin-schemas.js';
import { failures } from './admin-errors.js';
import type { AdminBackend, PolicySpec } from './admin-server.js';

/** The longest manual override TTL; a longer one is a typo, and `now + ttl` must stay a date. */
export const MAX_OVERRIDE_TTL_MS = 366 * 86_400_000;

/** What the service routes need from the server. */
export interface ServiceRoutesContext {
  backend: AdminBackend;
  /** Throws LS_ERR_ADMIN_NO_SERVICE for an unknown service. */
  named: (name: string) => Record<string, unknown>;
  nameParam: object;
  now: () => number;
}

/** Registers the service and policy routes. */
export function registerServiceRoutes(app: FastifyInstance, ctx: ServiceRoutesContext): void {
  const { backend, named, nameParam, now } = ctx;
  app.get(
    '/v1/services',
    {
      schema: {
        operationId: 'listServices',
        tags: ['services'],
        summary: 'Every service with replicas and signals',
        response: { 200: Type.Array(Type.Ref('ServiceSummary')), ...failures() },
      },
    },
    async () => backend.services(),
  );
  app.get(
    '/v1/services/:name',
    {
      schema: {
        operationId: 'getService',
        tags: ['services'],
        summary: 'One service: instances, last decision, signals, operations',
        params: nameParam,
        response: { 200: S.ServiceDetail, ...failures(400, 404) },
      },
    },
    async (req) => named((req.params as { name: string }).name),
  );
  app.post(
    '/v1/services/:name/scale',
    {
      schema: {
        operationId: 'scaleService',
        tags: ['services'],
        summary: 'Set a manual override, optionally with a TTL; the answer says where it was clamped',
        params: nameParam,
        body: Type.Ref('ScaleRequest'),
        response: { 200: Type.Ref('ScaleResult'), ...failures(400, 404, 413, 415) },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const body = req.body as S.ScaleRequestBody;
      const svc = named(name) as { min?: number; max?: number; paused?: boolean };
      const ttlMs = body.ttl === undefined ? undefined : overrideTtl(body.ttl);
      backend.scale(name, body.replicas, ttlMs);
      const min = svc.min ?? 0;
      const max = svc.max ?? body.replicas;
      const replicas = Math.min(max, Math.max(min, body.replicas));
      return {
        ok: true,
        requested: body.replicas,
        replicas,
        clamped: replicas !== body.replicas,
        min,
        max,
        paused: Boolean(svc.paused),
        until: ttlMs === undefined ? null : now() + ttlMs,
      };
    },
  );
  app.delete(
    '/v1/services/:name/scale',
    {
      schema: {
        operationId: 'clearScaleOverride',
        tags: ['services'],
        summary: 'Clear the manual override',
        params: nameParam,
        response: { 200: Type.Ref('Ok'), ...failures(400, 404) },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      named(name);
      backend.clearScale(name);
      return { ok: true };
    },
  );
  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(
      `/v1/services/:name/${verb}`,
      {
        schema: {
          operationId: paused ? 'pauseService' : 'resumeService',
          tags: ['services'],
          summary: paused ? 'Pause scaling' : 'Resume scaling',
          params: nameParam,
          response: { 200: Type.Ref('Ok'), ...failures(400, 404, 413, 415) },
        },
      },
      async (req) => {
        const { name } = req.params as { name: string };
        named(name);
        backend.setPaused(name, paused);
        return { ok: true };
      },
    );
  }
  app.put(
    '/v1/services/:name/policy',
    {
      schema: {
        operationId: 'reloadPolicy',
        tags: ['policies'],
        summary:
          'Hot-reload the policy: Lua source or a built-in, trial-evaluated first; on error 422 and the old one stays',
        params: nameParam,
        body: Type.Ref('PolicyReload'),
        response: { 200: Type.Ref('PolicyReloadResult'), ...failures(400, 404, 413, 415, 422) },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      named(name);
      const { policy } = await backend.reloadPolicy(name, req.body as PolicySpec);
      return { ok: true, policy };
    },
  );
  app.post(
    '/v1/policies/eval',
    {
      schema: {
        operationId: 'evalPolicy',
        tags: ['policies'],
        summary: 'Dry run: a policy and inputs in, a Decision out',
        body: Type.Ref('EvalRequest'),
        response: { 200: Type.Ref('EvalResult'), ...failures(400, 413, 415, 422) },
      },
    },
    async (req) => {
      const body = req.body as S.EvalRequestBody;
      const d = await backend.evalPolicy(body.policy, body.input);
      const o = d.policy.outcome;
      return {
        replicas: d.replicas,
        reason: d.reason,
        message: d.message,
        logs: o.logs,
        alerts: o.alerts,
        decision: d,
      };
    },
  );
}

/** A manual override's TTL: positive and at most {@link MAX_OVERRIDE_TTL_MS}, else a 400. */
function overrideTtl(ttl: string): number {
  const ms = parseDuration(ttl);
  if (!(ms > 0) || ms > MAX_OVERRIDE_TTL_MS)
    throw new LuascaleError('LS_ERR_ADMIN_BAD_REQUEST', {
      reason: `body/ttl must be more than 0 and at most 366d, got "${ttl}"`,
    });
  return ms;
}
