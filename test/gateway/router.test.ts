import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter, hostName, type RouteOptions } from '../../src/gateway/router.js';

function router(routes: [string, RouteOptions][]) {
  return createRouter(routes.map(([name, route]) => ({ service: 'svc', route, data: name })));
}

test('match() picks the most specific route: exact > template > prefix, longer prefix first', () => {
  const r = router([
    ['root', { path_prefix: '/' }],
    ['api', { path_prefix: '/api' }],
    ['users', { path_prefix: '/api/users' }],
    ['user', { path: '/api/users/{id}' }],
    ['me', { path: '/api/users/me' }],
    ['posts', { path: '/api/users/{id}/posts' }],
    ['post', { path: '/api/{kind}/{id}/posts' }],
  ]);
  const cases: [string, string][] = [
    ['/', 'root'],
    ['/other', 'root'],
    ['/api', 'api'],
    ['/apix', 'root'],
    ['/api/x', 'api'],
    ['/api/users', 'users'],
    ['/api/users/42', 'user'],
    ['/api/users/me', 'me'],
    ['/api/users/42/posts', 'posts'],
    ['/api/teams/42/posts', 'post'],
    ['/api/users/42/other', 'users'],
  ];
  for (const [path, want] of cases) assert.equal(r.match('GET', 'h', path)?.data, want, path);
});

test('match() honours methods and prefers a route that lists the method', () => {
  const r = router([
    ['any', { path: '/items' }],
    ['post', { path: '/items', methods: ['POST'] }],
    ['get-only', { path: '/ro', methods: ['GET', 'HEAD'] }],
  ]);
  assert.equal(r.match('POST', undefined, '/items')?.data, 'post');
  assert.equal(r.match('GET', undefined, '/items')?.data, 'any');
  assert.equal(r.match('HEAD', undefined, '/ro')?.data, 'get-only');
  assert.equal(r.match('DELETE', undefined, '/ro'), undefined);
});

test('match() prefers host routes, then wildcard hosts, then host-less ones; ports and case are ignored', () => {
  const r = router([
    ['any', { path_prefix: '/' }],
    ['a', { host: 'a.example.com', path_prefix: '/' }],
    ['wild', { host: '*.example.com', path_prefix: '/' }],
    ['deep', { host: '*.eu.example.com', path_prefix: '/' }],
    ['a-api', { host: 'a.example.com', path_prefix: '/api' }],
  ]);
  assert.equal(r.match('GET', 'A.Example.com:8080', '/x')?.data, 'a');
  assert.equal(r.match('GET', 'a.example.com', '/api/v')?.data, 'a-api');
  assert.equal(r.match('GET', 'b.example.com', '/x')?.data, 'wild');
  assert.equal(r.match('GET', 'x.eu.example.com', '/x')?.data, 'deep');
  assert.equal(r.match('GET', 'example.com', '/x')?.data, 'any');
  assert.equal(r.match('GET', undefined, '/x')?.data, 'any');
});

test('match() returns undefined when nothing matches; templates do not match across segments', () => {
  const r = router([['user', { path: '/users/{id}' }]]);
  assert.equal(r.match('GET', 'h', '/users'), undefined);
  assert.equal(r.match('GET', 'h', '/users/1/2'), undefined);
  assert.equal(r.match('GET', 'h', '/users/'), undefined);
  assert.equal(r.match('GET', 'h', '/users/1')?.template, '/users/{id}');
});

test('the template, never the raw path, is the route label', () => {
  const r = router([
    ['p', { path_prefix: '/static' }],
    ['t', { path: '/u/{id}', operationId: 'getUser' }],
  ]);
  assert.equal(r.match('GET', 'h', '/static/a/b.css')?.template, '/static/*');
  const t = r.match('GET', 'h', '/u/123')!;
  assert.equal(t.template, '/u/{id}');
  assert.equal(t.operationId, 'getUser');
});

test('template literals with regex metacharacters match literally', () => {
  const r = router([['v', { path: '/v1.0/{id}' }]]);
  assert.equal(r.match('GET', 'h', '/v1.0/x')?.data, 'v');
  assert.equal(r.match('GET', 'h', '/v1x0/x'), undefined);
});

test('createRouter() rejects a route with neither or both of path and path_prefix, or no leading slash', () => {
  assert.throws(() => router([['x', {}]]), /exactly one of path or path_prefix/);
  assert.throws(() => router([['x', { path: '/a', path_prefix: '/a' }]]), /exactly one/);
  assert.throws(() => router([['x', { path: 'a' }]]), /must start with/);
});

test('hostName() strips ports and keeps IPv6 literals', () => {
  assert.equal(hostName('Example.COM:80'), 'example.com');
  assert.equal(hostName('[::1]:8080'), '[::1]');
  assert.equal(hostName('localhost'), 'localhost');
});
