/**
 * Serves the built dashboard (scripts/build-dashboard.mjs) from memory: the page and its
 * content-hashed assets. They hold no data (the page reads /v1/* with the token), so they are public.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LuascaleError } from '../core/errors.js';
import { clipUrl, sendError } from './admin-errors.js';

/** Registers `/` and `/assets/:file` when `dir` holds a build; does nothing otherwise. */
export function registerDashboardRoutes(app: FastifyInstance, dir: string): void {
  const open = { config: { public: true } };
  const dashboard = loadDashboard(dir);
  if (dashboard) {
    // The page holds no data (it reads /v1/* with the token), so it and its assets are public.
    app.get('/', { ...open, schema: { hide: true } }, async (_req, reply) =>
      sendFile(
        reply.header('content-security-policy', DASHBOARD_CSP),
        dashboard.get('index.html')!,
        'no-cache',
      ),
    );
    app.get('/assets/:file', { ...open, schema: { hide: true } }, async (req, reply) => {
      const file = dashboard.get(`assets/${(req.params as { file: string }).file}`);
      if (!file)
        return sendError(
          reply,
          new LuascaleError('LS_ERR_ADMIN_NOT_FOUND', {
            method: 'GET',
            path: clipUrl(req.url.split('?')[0]!),
          }),
        );
      return sendFile(reply, file, 'public, max-age=31536000, immutable'); // names carry a content hash
    });
  }
}

/** Where `npm run build` puts the dashboard; the same relative path works from src/admin and dist/admin. */
export const PACKAGED_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));
const DASHBOARD_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
  '.txt': 'text/plain',
};

/** Reads the built dashboard into memory (a few files, ~100 KB); null when not built. */
function loadDashboard(dir: string): Map<string, { body: Buffer; type: string }> | null {
  if (!dir || !existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, { body: Buffer; type: string }>();
  const add = (name: string) =>
    files.set(name, {
      body: readFileSync(join(dir, name)),
      type: `${TYPES[extname(name)] ?? 'application/octet-stream'}; charset=utf-8`,
    });
  add('index.html');
  if (existsSync(join(dir, 'assets'))) for (const f of readdirSync(join(dir, 'assets'))) add(`assets/${f}`);
  return files;
}

function sendFile(reply: FastifyReply, file: { body: Buffer; type: string }, cacheControl: string) {
  return reply
    .type(file.type)
    .header('cache-control', cacheControl)
    .header('x-content-type-options', 'nosniff')
    .send(file.body);
}
