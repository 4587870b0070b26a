/**
 * Fuzz: the Lua API's inputs and outputs. Random observations (NaN, ±Infinity, negatives, huge,
 * missing fields, odd metric names), random params, state and history go into the example
 * policies and into a policy that returns random shapes; every call yields a PolicyOutcome (ok
 * with a finite replica count, or a coded error) and never throws, and the decision core clamps
 * whatever came out into [min, max]. Seeds are fixed and in the test names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { loadLuaPolicy, type LuaPolicy } from '../../src/sandbox/lua-policy.js';
import { decide } from '../../src/controller/decide.js';
import { defaultBehavior } from '../../src/controller/behavior-defaults.js';
import { initialDecisionState } from '../../src/controller/decision.js';
import {
  completeObservation,
  type HistoryReader,
  type Observation,
  type PolicyContext,
  type PolicyOutcome,
} from '../../src/policy/policy.js';

const SEED = 20261128;
const policies: LuaPolicy[] = [];
after(() => policies.forEach((p) => p.close()));

const num = fc.oneof(
  fc.double({ noNaN: false }),
  fc.integer({ min: -10, max: 1000 }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, 2 ** 53 + 1, 5e-324),
);
const metricName = fc.oneof(
  fc.constantFrom('queue_depth', 'lag', '__index', 'constructor', '__proto__', '', 'a.b', '\u0000'),
  fc.string({ maxLength: 8 }),
);
const observation: fc.Arbitrary<Partial<Observation>> = fc.record(
  {
    cpu: num,
    memory: num,
    rps: num,
    inflight: num,
    queue: num,
    shed_rps: num,
    error_rate: num,
    latency: fc.record({ p50: num, p95: num, p99: num }),
    // The controller counts these from the provider's list: whole and non-negative by construction.
    replicas: fc.integer({ min: 0, max: 50 }),
    ready: fc.integer({ min: 0, max: 50 }),
    starting: fc.integer({ min: 0, max: 5 }),
    metrics: fc.dictionary(metricName, num, { maxKeys: 4 }),
    slo: fc.record({ latency_p95_ms: num, error_rate: num }, { requiredKeys: [] }),
    operations: fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.record({ rps: num, cpu: num }) as fc.Arbitrary<any>,
      { maxKeys: 2 },
    ),
    fresh: fc.boolean(),
  },
  { requiredKeys: [] },
);
const jsonish = fc.jsonValue({ maxDepth: 3 });
const ctxArb = fc.record({
  observation,
  min: fc.integer({ min: 0, max: 5 }),
  span: fc.integer({ min: 0, max: 20 }),
  params: fc.dictionary(fc.string({ maxLength: 8 }), jsonish, { maxKeys: 4 }),
  state: fc.dictionary(fc.string({ maxLength: 8 }), jsonish, { maxKeys: 4 }),
  hist: num,
  now: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constantFrom(0, -1, 2 ** 53)),
});

type CtxInput = typeof ctxArb extends fc.Arbitrary<infer T> ? T : never;

function contextOf(c: CtxInput): PolicyContext {
  const history: HistoryReader = {
    stepSeconds: 1,
    series: (_m, s) =>
      Array.from({ length: Math.min(600, Math.max(0, Math.floor(Number(s) || 0))) }, () => c.hist),
  };
  let observation: Observation;
  try {
    observation = completeObservation(c.observation as any);
  } catch {
    observation = completeObservation({});
  }
  return {
    service: 'web',
    now: c.now,
    min: c.min,
    max: c.min + c.span,
    observation,
    params: c.params,
    state: c.state as Record<string, unknown>,
    history,
  };
}

function checkOutcome(o: PolicyOutcome, where: string): void {
  assert.equal(typeof o.ok, 'boolean', `${where}: outcome has ok`);
  assert.ok(Array.isArray(o.logs) && Array.isArray(o.alerts), `${where}: logs and alerts are arrays`);
  // null is the API's "keep the current count" (a script returning nil).
  if (o.ok)
    assert.ok(
      o.replicas === null || Number.isFinite(o.replicas),
      `${where}: replicas finite or null, got ${o.replicas}`,
    );
  else assert.match(o.code, /^LS_ERR_POLICY_/, `${where}: coded error`);
}

function checkDecision(p: LuaPolicy, ctx: PolicyContext): void {
  const spec = {
    service: 'web',
    min: ctx.min,
    max: ctx.max,
    intervalMs: 1000,
    behavior: defaultBehavior(),
    policy: p,
    params: ctx.params,
  };
  // The controller counts replicas from the provider's list: whole numbers, whatever the signals say.
  const o = { ...ctx.observation, replicas: Math.abs(Math.round(ctx.observation.replicas)) % 50 || 0 };
  o.ready = Math.min(o.replicas, Math.abs(Math.round(o.ready)) || 0);
  const { decision } = decide(spec, {
    observation: o,
    history: ctx.history,
    state: initialDecisionState(),
    now: 1_000_000,
  });
  assert.ok(
    Number.isInteger(decision.replicas) && decision.replicas >= ctx.min && decision.replicas <= ctx.max,
    `decision ${decision.replicas} outside [${ctx.min}, ${ctx.max}] (${decision.reason})`,
  );
}

test(`fuzz Lua API: random observations into every example policy (seed ${SEED}, 150 runs each)`, async () => {
  for (const f of readdirSync('examples/policies').filter((x) => x.endsWith('.lua'))) {
    const p = await loadLuaPolicy({ file: `examples/policies/${f}` });
    policies.push(p);
    fc.assert(
      fc.property(ctxArb, (c) => {
        const ctx = contextOf(c);
        try {
          checkOutcome(p.evaluate(ctx), f);
          checkDecision(p, ctx);
        } catch (e) {
          if (process.env.FUZZ_DEBUG) console.error(f, (e as Error).message);
          throw e;
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  }
});

// A policy whose return value is chosen by params: every shape a script might hand back.
const RANDOM_RETURN = `
function decide(ctx)
  local k = ctx.params.kind
  local v = ctx.params.v
  if k == 'num' then return v end
  if k == 'str' then return tostring(v) end
  if k == 'nil' then return nil end
  if k == 'tbl' then return { replicas = v, reason = ctx.params.reason } end
  if k == 'nested' then return { replicas = { v } } end
  if k == 'bool' then return v == 1 end
  if k == 'fn' then return function() end end
  if k == 'inf' then return 1/0 end
  if k == 'nan' then return 0/0 end
  if k == 'ninf' then return -1/0 end
  if k == 'huge' then return 2^63 end
  if k == 'state' then ctx.state.x = ctx.state; return 1 end
  if k == 'metric' then return (ctx.metrics and ctx.metrics[ctx.params.reason]) or ctx.observation and 1 or 1 end
  if k == 'err' then error(v) end
  if k == 'errtbl' then error({ v }) end
  return ctx.current or 1
end
`;

test(`fuzz Lua API: every return shape becomes an outcome, never an exception (seed ${SEED + 1}, 400 runs)`, async () => {
  const p = await loadLuaPolicy({ source: RANDOM_RETURN, chunkName: 'random-return.lua' });
  policies.push(p);
  const kind = fc.constantFrom(
    'num',
    'str',
    'nil',
    'tbl',
    'nested',
    'bool',
    'fn',
    'inf',
    'nan',
    'ninf',
    'huge',
    'state',
    'metric',
    'err',
    'errtbl',
    'other',
  );
  fc.assert(
    fc.property(
      ctxArb,
      kind,
      fc.oneof(num, fc.string({ maxLength: 10 })),
      fc.oneof(fc.string({ maxLength: 300 }), fc.constant(undefined)),
      (c, k, v, reason) => {
        const ctx = contextOf(c);
        ctx.params = { kind: k, v, reason };
        checkOutcome(p.evaluate(ctx), `return ${k}`);
        checkDecision(p, { ...ctx, params: { kind: k, v, reason } });
      },
    ),
    { seed: SEED + 1, numRuns: 400 },
  );
});
