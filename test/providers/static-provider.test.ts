import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StaticProvider } from '../../src/providers/static-provider.js';
import { ManualClock } from '../../src/core/clock.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { providerContract } from './provider-contract.js';

providerContract('static', async () => {
  const provider = new StaticProvider({
    service: 'api',
    targets: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002/'],
  });
  return { provider, cleanup: () => provider.close() };
});

describe('StaticProvider', () => {
  it('lists every target as ready with its origin and port', () => {
    const p = new StaticProvider({
      service: 'api',
      targets: ['http://10.0.0.5:8080/base', 'https://example.test'],
    });
    assert.deepEqual(
      p.list().map((i) => [i.id, i.url, i.port, i.state]),
      [
        ['static_0', 'http://10.0.0.5:8080', 8080, 'ready'],
        ['static_1', 'https://example.test', 443, 'ready'],
      ],
    );
  });

  it('records advice with the replica count it would reach, without changing targets', async () => {
    const clock = new ManualClock(0, 1_000);
    const p = new StaticProvider({ service: 'api', targets: ['http://a:1', 'http://b:2'], clock });
    await p.launch();
    clock.advance(500);
    await p.launch();
    await p.drain('static_0');
    await p.stop('static_0');
    assert.deepEqual(p.advice(), [
      { action: 'launch', at: 1_000, wouldBe: 3 },
      { action: 'launch', at: 1_500, wouldBe: 4 },
      { action: 'drain', id: 'static_0', at: 1_500, wouldBe: 4 },
      { action: 'stop', id: 'static_0', at: 1_500, wouldBe: 3 },
    ]);
    assert.equal(p.list().length, 2);
  });

  it('rejects a target that is not an http(s) URL, naming it', () => {
    assert.throws(
      () => new StaticProvider({ service: 'api', targets: ['http://ok:1', 'ftp://x'] }),
      (err) =>
        isLuascaleError(err, 'LS_ERR_PROVIDER_COMMAND') &&
        /target 1: expected an http\(s\) URL/.test(err.message),
    );
    assert.throws(
      () => new StaticProvider({ service: 'api', targets: ['not a url'] }),
      /target 0: not a URL/,
    );
  });
});
