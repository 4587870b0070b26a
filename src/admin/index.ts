/**
 * The admin API (public surface): the fastify server and its request guard. The dashboard
 * (`dashboard/`) is browser code, bundled separately; it talks to this API over HTTP only.
 */
export * from './admin-server.js';
export * from './request-guard.js';
