/**
 * The shared MetricSource contract (src/controller/metric-source.ts): every source's test runs
 * this suite, as every provider runs test/providers/provider-contract.ts. A source reports its name
 * and optional timeout, answers `read(now)` with a promise (never a synchronous throw) of a finite
 * number, fetches at most once per interval with concurrent reads sharing the fetch, rejects with an
 * Error when its backend fails, keeps that failure for the interval too, and recovers after it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricSource } from '../../src/controller/metric-source.js';
import { serveHttp } from '../helpers/http-server.js';

/** One source under test, with a backend the test controls. */
export interface MetricSourceSubject {
  /** Built with the `name` and `intervalMs` the contract passed to `make`. */
  source: MetricSource;
  /** From now on the backend answers this value. */
  answer(value: number): void;
  /** From now on the backend fails (an HTTP error, a throwing fetch). */
  fail(): void;
  /** How many times the backend was asked so far. */
  fetches(): number;
  cleanup(): Promise<void>;
}

/** What the contract needs to know about a source. */
export interface MetricSourceContractOptions {
  /** The source puts `metric source "<name>"` in its errors (the HTTP sources do; a bare cache passes the fetch's error on). */
  namesItselfInErrors?: boolean;
}

const NAME = 'queue_depth';
const INTERVAL = 5000;
const T0 = 1_000_000;

/** Registers the contract tests for one MetricSource implementation. */
export function metricSourceContract(
  label: string,
  make: (options: { name: string; intervalMs: number }) => Promise<MetricSourceSubject>,
  options: MetricSourceContractOptions = {},
): void {
  async function withSubject(fn: (s: MetricSourceSubject) => Promise<void>): Promise<void> {
    const subject = await make({ name: NAME, intervalMs: INTERVAL });
    try {
      await fn(subject);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`MetricSource contract: ${label}`, () => {
    it('reports its configured name and, if any, a positive finite timeout', () =>
      withSubject(async ({ source }) => {
        assert.equal(source.name, NAME);
        if (source.timeoutMs !== undefined) {
          assert.ok(
            Number.isFinite(source.timeoutMs) && source.timeoutMs > 0,
            `timeoutMs ${source.timeoutMs}`,
          );
        }
      }));

    it('read(now) returns a promise of the backend value', () =>
      withSubject(async (s) => {
        s.answer(12.5);
        const p = s.source.read(T0);
        assert.ok(p instanceof Promise, 'read returns a promise');
        assert.equal(await p, 12.5);
        assert.equal(s.fetches(), 1);
      }));

    it('reads within the interval share one fetch, concurrent ones too; the next interval fetches again', () =>
      withSubject(async (s) => {
        s.answer(3);
        assert.deepEqual(await Promise.all([s.source.read(T0), s.source.read(T0)]), [3, 3]);
        assert.equal(s.fetches(), 1);
        s.answer(9);
        for (const t of [T0 + 1000, T0 + 2500, T0 + INTERVAL - 1]) assert.equal(await s.source.read(t), 3);
        assert.equal(s.fetches(), 1);
        assert.equal(await s.source.read(T0 + INTERVAL), 9);
        assert.equal(s.fetches(), 2);
      }));

    it('a failing backend rejects with an Error (not a synchronous throw), cached for the interval', () =>
      withSubject(async (s) => {
        s.fail();
        const p = s.source.read(T0);
        assert.ok(p instanceof Promise, 'a failure is a rejected promise');
        await assert.rejects(p, (err: unknown) => {
          assert.ok(err instanceof Error, 'rejects with an Error');
          assert.ok(err.message.length > 0, 'the error says something');
          if (options.namesItselfInErrors) assert.match(err.message, new RegExp(`metric source "${NAME}"`));
          return true;
        });
        s.answer(4);
        await assert.rejects(s.source.read(T0 + INTERVAL - 1));
        assert.equal(s.fetches(), 1);
      }));

    it('recovers once the interval after a failure has passed', () =>
      withSubject(async (s) => {
        s.fail();
        await assert.rejects(s.source.read(T0));
        s.answer(7);
        assert.equal(await s.source.read(T0 + INTERVAL), 7);
        assert.equal(s.fetches(), 2);
      }));

    it('a clock that goes back (a restarted monotonic clock) fetches again rather than waiting', () =>
      withSubject(async (s) => {
        s.answer(1);
        assert.equal(await s.source.read(T0), 1);
        s.answer(2);
        assert.equal(await s.source.read(T0 - 1), 2);
        assert.equal(s.fetches(), 2);
      }));
  });
}

/**
 * A subject whose backend is an HTTP server on a free port: `respond` answers with the current
 * value, or a failure when it is undefined; `source` builds the source for the server's URL.
 */
export async function httpSubject(
  source: (url: string) => MetricSource,
  respond: (value: number | undefined, req: IncomingMessage, res: ServerResponse) => void,
): Promise<MetricSourceSubject> {
  let value: number | undefined = 0;
  let hits = 0;
  const srv = await serveHttp((req, res) => {
    hits++;
    respond(value, req, res);
  });
  return {
    source: source(srv.url),
    answer: (v) => void (value = v),
    fail: () => void (value = undefined),
    fetches: () => hits,
    cleanup: () => srv.close(),
  };
}
