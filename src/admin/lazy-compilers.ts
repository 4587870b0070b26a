/**
 * Fastify compiles every route's request validators (ajv) and response serializers
 * (fast-json-stringify) when the server becomes ready: for the admin API's routes that was a few
 * hundred ms of every `luascale up`, most of it for routes a run never answers. These compile on a
 * route's first request instead.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import type { ValidateFunction } from 'ajv';

type SerializerFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer']
>;

const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));

/**
 * Fastify's default serializer factory (its dependency, resolved from fastify so the versions
 * agree), each route's serializer compiled on its first reply.
 */
export function lazySerializers(): SerializerFactory {
  const { SerializerSelector } = fromFastify('@fastify/fast-json-stringify-compiler') as {
    SerializerSelector: () => SerializerFactory;
  };
  const eager = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = eager(externalSchemas, options);
    return (route) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data) => (serialize ??= compile(route))(data);
    };
  };
}

/**
 * An ajv validator compiled on its first call. It passes fastify's parent data through (fastify
 * hands it to functions with `schemaEnv`, so ajv can coerce or default a root value) and exposes
 * the compiled function's `errors` after each call, as fastify reads them.
 */
export function lazyValidator(compile: () => ValidateFunction): ValidateFunction {
  let fn: ValidateFunction | undefined;
  const validate = function (data: unknown, cxt?: Parameters<ValidateFunction>[1]) {
    fn ??= compile();
    const ok = fn(data, cxt);
    validate.errors = fn.errors;
    return ok;
  } as ValidateFunction;
  validate.errors = null;
  (validate as { schemaEnv?: unknown }).schemaEnv = true;
  return validate;
}
