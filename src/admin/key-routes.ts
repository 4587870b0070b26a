/**
 * Consumers' API keys: `GET /v1/keys` lists them (never the key, only its id and consumer),
 * `POST /v1/keys` creates one for a configured consumer and answers the key itself, once, and
 * `POST /v1/keys/{id}/revoke` revokes one (the row stays, marked revoked, for the record).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { LuascaleError } from '../core/errors.js';
import { failures } from './admin-errors.js';

/** One API key as the admin API shows it (the key itself only when created). */
export interface KeyView {
  id: string;
  consumer: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, or null while the key is valid. */
  revokedAt: number | null;
}

/** One consumer of the config as the admin API shows it. */
export interface ConsumerView {
  name: string;
  metadata: Record<string, string>;
  /** `consumers.<name>.limits` (request rate, token and cost limits, per model too), or null when it has none. */
  limits: ConsumerLimitsView | null;
  /** Keys not revoked. */
  activeKeys: number;
}

/** Token and cost limits of a consumer, or of a consumer on one model (docs/llm.md). */
export interface TokenLimitsView {
  tokens_per_minute?: number;
  tokens_per_day?: number;
  tokens_per_month?: number;
  cost_per_day_usd?: number;
  cost_per_month_usd?: number;
}

/** A consumer's limits as configured. */
export interface ConsumerLimitsView extends TokenLimitsView {
  rps?: number;
  burst?: number;
  models?: Record<string, TokenLimitsView>;
}

/** What the key routes need from the running luascale (the app wires it to the store). */
export interface AdminKeys {
  /** The consumers of the config, with their metadata, limits and how many valid keys each has. */
  consumers(): Promise<ConsumerView[]>;
  /** Throws LS_ERR_ADMIN_NO_CONSUMER when the consumer is not in the config. */
  create(consumer: string): Promise<KeyView & { key: string }>;
  list(): Promise<KeyView[]>;
  /** Throws LS_ERR_ADMIN_NO_KEY for an unknown id. */
  revoke(id: string): Promise<KeyView>;
}

const KeyInfo = Type.Object(
  {
    id: Type.String({ description: 'Public id of the key (the part after lsk_)' }),
    consumer: Type.String(),
    createdAt: Type.Number({ description: 'Epoch ms' }),
    revokedAt: Type.Union([Type.Number(), Type.Null()], { description: 'Epoch ms; null while valid' }),
  },
  { additionalProperties: false },
);

const NewKey = Type.Object(
  {
    ...KeyInfo.properties,
    key: Type.String({ description: 'The key itself: shown this once, only its SHA-256 is stored' }),
  },
  { additionalProperties: false },
);

const TOKEN_LIMITS = {
  tokens_per_minute: Type.Optional(Type.Integer()),
  tokens_per_day: Type.Optional(Type.Integer()),
  tokens_per_month: Type.Optional(Type.Integer()),
  cost_per_day_usd: Type.Optional(Type.Number()),
  cost_per_month_usd: Type.Optional(Type.Number()),
};

const ConsumerInfo = Type.Object(
  {
    name: Type.String(),
    metadata: Type.Record(Type.String(), Type.String()),
    limits: Type.Union(
      [
        Type.Object(
          {
            rps: Type.Optional(Type.Number()),
            burst: Type.Optional(Type.Integer()),
            ...TOKEN_LIMITS,
            models: Type.Optional(
              Type.Record(Type.String(), Type.Object(TOKEN_LIMITS, { additionalProperties: false })),
            ),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      { description: "The consumer's own limits, or null" },
    ),
    activeKeys: Type.Integer({ description: 'Keys not revoked' }),
  },
  { additionalProperties: false },
);

/** Registers the key routes; without `keys` (a backend that has none) they answer 404. */
export function registerKeyRoutes(app: FastifyInstance, keys: AdminKeys | undefined): void {
  const need = (): AdminKeys => {
    if (keys === undefined)
      throw new LuascaleError('LS_ERR_ADMIN_NOT_FOUND', { method: 'API keys', path: 'on this server' });
    return keys;
  };
  app.get(
    '/v1/consumers',
    {
      schema: {
        operationId: 'listConsumers',
        tags: ['keys'],
        summary: 'The consumers of the config: metadata, limits and how many valid API keys each has',
        response: { 200: Type.Object({ consumers: Type.Array(ConsumerInfo) }), ...failures(404) },
      },
    },
    async () => ({ consumers: await need().consumers() }),
  );
  app.get(
    '/v1/keys',
    {
      schema: {
        operationId: 'listKeys',
        tags: ['keys'],
        summary: "Consumers' API keys, revoked ones included (ids only, never a key)",
        response: { 200: Type.Object({ keys: Type.Array(KeyInfo) }), ...failures(404) },
      },
    },
    async () => ({ keys: await need().list() }),
  );
  app.post(
    '/v1/keys',
    {
      schema: {
        operationId: 'createKey',
        tags: ['keys'],
        summary: 'Create an API key for a configured consumer; the answer holds the key, once',
        body: Type.Object(
          { consumer: Type.String({ minLength: 1, maxLength: 63 }) },
          { additionalProperties: false },
        ),
        response: { 201: NewKey, ...failures(400, 404) },
      },
    },
    async (req, reply) => {
      const created = await need().create((req.body as { consumer: string }).consumer);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );
  app.post(
    '/v1/keys/:id/revoke',
    {
      schema: {
        operationId: 'revokeKey',
        tags: ['keys'],
        summary: 'Revoke an API key: requests with it get 401 from now on',
        params: {
          type: 'object',
          properties: { id: { type: 'string', maxLength: 64 } },
          required: ['id'],
        },
        response: { 200: KeyInfo, ...failures(400, 404) },
      },
    },
    async (req) => need().revoke((req.params as { id: string }).id),
  );
}
