/**
 * Issue 16 item 12: the admin API's request validators and response serializers compile on a
 * route's first request, not when the server becomes ready (most routes are never called in a run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Ajv } from 'ajv';
import { lazySerializers, lazyValidator } from '../../src/admin/lazy-compilers.js';

test('a lazy validator compiles on its first call, once, and exposes errors as fastify reads them', () => {
  const ajv = new Ajv({ coerceTypes: 'array' });
  let compiled = 0;
  const validate = lazyValidator(() => {
    compiled++;
    return ajv.compile({ type: 'object', properties: { n: { type: 'integer' } } });
  });
  assert.equal(compiled, 0);
  const holder = { q: { n: '5' } };
  assert.equal(validate(holder.q, { parentData: holder, parentDataProperty: 'q' } as never), true);
  assert.deepEqual(holder.q, { n: 5 }, 'coerced in place');
  assert.equal(validate({ n: 'x' }), false);
  assert.equal(validate.errors?.[0]?.instancePath, '/n');
  assert.equal(validate({ n: 1 }), true);
  assert.equal(validate.errors, null);
  assert.equal(compiled, 1);
});

test('a route whose response schema cannot compile does not stop the server from becoming ready', async () => {
  const app = Fastify({ schemaController: { compilersFactory: { buildSerializer: lazySerializers() } } });
  const broken = { 200: { type: 'object', properties: { a: { $ref: 'Nowhere#' } } } };
  app.get('/broken', { schema: { response: broken } }, async () => ({ a: 1 }));
  app.get(
    '/fine',
    { schema: { response: { 200: { type: 'object', properties: { a: { type: 'integer' } } } } } },
    async () => ({ a: '7', b: 2 }),
  );
  await app.ready(); // eagerly, fastify refuses: FST_ERR_SCH_SERIALIZATION_BUILD
  try {
    const fine = await app.inject('/fine');
    assert.equal(fine.statusCode, 200);
    assert.equal(fine.body, '{"a":7}', 'the serializer still applies the schema');
    assert.equal((await app.inject('/broken')).statusCode, 500);
  } finally {
    await app.close();
  }
});
