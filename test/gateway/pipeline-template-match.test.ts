/**
 * Path templates are matched in linear time (src/gateway/pipeline/template-params.ts). They were
 * regular expressions with `[^/]+` per name, which backtrack: `/x/{a}-{b}-{c}.json` (a template a
 * document or a config may well hold) against `/x/` and 4,000 dashes kept the event loop for about a
 * minute per request — any client could stall the gateway with one short request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter } from '../../src/gateway/router.js';
import { compileTemplate, templateParams } from '../../src/gateway/pipeline/template-params.js';

test('a hostile path against templates with several names in a segment is answered at once', () => {
  const router = createRouter([
    { service: 's', route: { path: '/x/{a}-{b}-{c}.json' }, data: null },
    { service: 's', route: { path: '/y/{a}{b}{c}{d}z' }, data: null },
    { service: 's', route: { path: '/z/{a}.json/{b}' }, data: null },
  ]);
  const started = performance.now();
  assert.equal(router.match('GET', undefined, `/x/${'-'.repeat(4000)}`), undefined);
  assert.equal(router.match('GET', undefined, `/y/${'a'.repeat(12000)}`), undefined);
  assert.equal(router.match('GET', undefined, `/z/${'.json'.repeat(3000)}`), undefined);
  assert.equal(router.match('GET', undefined, '/x/1-2-3.json')?.template, '/x/{a}-{b}-{c}.json');
  // The old expressions took seconds to minutes here; a linear scan takes well under a millisecond.
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
});

test('the names take what the old expressions gave them (shortest first, the last one the rest)', () => {
  for (const [template, path, want] of [
    ['/users/{id}', '/users/7', { id: '7' }],
    ['/{owner}/{repo}.git', '/a/b.c.git', { owner: 'a', repo: 'b.c' }],
    [
      '/Accounts/{AccountSid}/Calls/{Sid}.json',
      '/Accounts/AC1/Calls/CA2.json',
      { AccountSid: 'AC1', Sid: 'CA2' },
    ],
    ['/a/{x}-{y}', '/a/1-2-3', { x: '1', y: '2-3' }],
    ['/ab/{a}{b}', '/ab/xyz', { a: 'x', b: 'yz' }],
    ['/blobs/{name}', '/blobs/a%2Fb', { name: 'a/b' }],
    ['/t/{id}/', '/t/5/', { id: '5' }],
  ] as const)
    assert.deepEqual(templateParams(template, path), want, `${template} ${path}`);
  const { match } = compileTemplate('/a/{x}.json');
  for (const miss of ['/a/.json', '/a/', '/a/b/c.json', '/a/b.json/', '/a', '/b/c.json', '/a/b.jso'])
    assert.equal(match(miss), false, miss);
  assert.equal(compileTemplate('/a/{x}-{y}').match('/a/-1'), false); // {x} takes one character at least
  assert.equal(compileTemplate('/a/{x}-{y}').match('/a/1-'), false);
  assert.equal(compileTemplate('/plain/path').match('/plain/path'), true);
});
