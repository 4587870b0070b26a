/**
 * `GET /v1/events` (paged, oldest or newest first) and `GET /v1/events/stream` (Server-Sent
 * Events; replays stored events after an id, then live ones, each once).
 */
import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { failures } from './admin-errors.js';
import type { AdminBackend, AdminEvent } from './admin-server.js';

/** What the event routes need from the server. */
export interface EventRoutesContext {
  backend: AdminBackend;
  /** Throws LS_ERR_ADMIN_NO_SERVICE for an unknown service. */
  named: (name: string) => unknown;
  /** Open streams, ended by the server on close. */
  streams: Set<ServerResponse>;
}

/** Registers the event routes. */
export function registerEventRoutes(app: FastifyInstance, ctx: EventRoutesContext): void {
  const { backend, named, streams } = ctx;
  const eventFilter = {
    service: { type: 'string', maxLength: 63, description: 'Only this service (404 when unknown)' },
    after: { type: 'integer', minimum: 0, description: 'Only events after this id' },
  };
  app.get(
    '/v1/events',
    {
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'Recorded events, paginated by id; `order=desc` gives the newest first',
        querystring: {
          type: 'object',
          properties: {
            ...eventFilter,
            since: { type: 'number', minimum: 0, description: 'Only events at or after this epoch ms' },
            before: { type: 'integer', minimum: 1, description: 'Only events before this id' },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          additionalProperties: false,
        },
        response: { 200: Type.Ref('EventPage'), ...failures(400, 404) },
      },
    },
    async (req) => {
      const q = req.query as {
        service?: string;
        since?: number;
        after?: number;
        before?: number;
        order: 'asc' | 'desc';
        limit: number;
      };
      if (q.service !== undefined) named(q.service);
      const events = await backend.events({
        service: q.service,
        since: q.since,
        afterId: q.after,
        beforeId: q.before,
        order: q.order,
        limit: q.limit,
      });
      return { events, next: events.length === q.limit ? events[events.length - 1]!.id : null };
    },
  );
  app.get(
    '/v1/events/stream',
    {
      config: { queryToken: true },
      schema: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary:
          'Server-Sent Events: every new event as `data: {json}` with its `id`; `after` (or Last-Event-ID) replays stored events after that id first',
        querystring: {
          type: 'object',
          properties: {
            ...eventFilter,
            access_token: { type: 'string', description: 'The token, for EventSource (cannot send headers)' },
          },
          additionalProperties: false,
        },
        produces: ['text/event-stream'],
        response: {
          200: {
            description: 'The event stream (the handler writes it; not serialized by a schema)',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...failures(400, 404),
        },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as { service?: string; after?: number };
      const service = q.service;
      if (service !== undefined) named(service);
      const lastId = Number(req.headers['last-event-id']);
      const after = q.after ?? (Number.isSafeInteger(lastId) && lastId >= 0 ? lastId : undefined);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      streams.add(raw);
      let sent = after ?? 0;
      // Stored events have ids > 0 and are sent once, in order; live-only ones (per-tick signals,
      // id 0) carry no `id:` line, so a reconnecting EventSource resumes after the last stored one.
      const send = (e: AdminEvent) => {
        if (service && e.service !== service) return;
        if (e.id > 0) {
          if (e.id <= sent) return;
          sent = e.id;
          raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        } else raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // Live events that arrive while the backlog is read wait here, so none is lost or repeated.
      let backlog: AdminEvent[] | null = after === undefined ? null : [];
      const unsubscribe = backend.subscribe((e) => (backlog ? backlog.push(e) : send(e)));
      const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
      ping.unref();
      raw.on('close', () => {
        clearInterval(ping);
        unsubscribe();
        streams.delete(raw);
      });
      if (backlog) {
        try {
          for (let page = 0; page < 100; page++) {
            const stored = await backend.events({ service, afterId: sent, limit: 1000, order: 'asc' });
            for (const e of stored) send(e);
            if (stored.length < 1000) break;
          }
        } finally {
          const live = backlog;
          backlog = null;
          for (const e of live) send(e);
        }
      }
    },
  );
}
