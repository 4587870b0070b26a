/**
 * How the admin API answers errors: one shape, `{ error: { code, message } }` with a code from
 * the registry (src/core/errors.ts), and the error responses each route lists in /openapi.json.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { LuascaleError } from '../core/errors.js';

/** Sends a registry error as `{ error: { code, message } }` with its status. */
export function sendError(reply: FastifyReply, err: LuascaleError) {
  return reply
    .code(err.status)
    .type('application/json')
    .send({ error: { code: err.code, message: err.message } });
}

/** A target as it may appear in a message: bounded, so a 64 KiB URL is not echoed back. */
export function clipUrl(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}…` : url;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request: a parameter or body field is invalid (the message names it)',
  401: 'Missing or wrong bearer token',
  403: 'Cross-site request, or a Host that is not this listener',
  404: 'No such route or service',
  413: 'Body over 1 MiB',
  415: 'Body is not application/json',
  422: 'The policy failed to load or its trial evaluations failed',
  429: 'Too many failed token attempts',
  500: 'Internal error',
};

/** The error responses of a route for /openapi.json: the given ones plus those every route can give. */
export function failures(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    [...statuses, 401, 403, 429, 500].map((s) => [s, { ...Type.Ref('Error'), description: STATUS_TEXT[s] }]),
  );
}

/** The error a public route can still give: a Host that is not a name of this listener (403). */
export function hostFailure(): Record<number, unknown> {
  return { 403: { ...Type.Ref('Error'), description: STATUS_TEXT[403] } };
}
