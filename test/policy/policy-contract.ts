/**
 * The shared Policy contract (src/policy/policy.ts): every implementation runs this suite, the
 * built-ins and the Lua policy alike (hono's routers share one suite the same way). `evaluate`
 * never throws, for any observation: it answers an outcome that is data. An ok outcome carries a
 * finite, non-negative count; a failed one a stable LS_ERR_POLICY_* code and a one-line error.
 * The same context (same state) gives the same outcome, and frozen inputs are not written to.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation, Policy, PolicyContext, PolicyOutcome } from '../../src/policy/policy.js';
import { testContext } from '../helpers/policy-context.js';

/** What the contract needs to know about a policy. */
export interface PolicyContractOptions {
  /** The policy answers ok with a whole count < 1e9 for every observation (the built-ins promise this). */
  alwaysOk?: boolean;
  /** Params to evaluate with. */
  params?: Record<string, unknown>;
}

/** Observations a policy must survive: empty, zero, NaN, infinite, negative, stale, extreme. */
export const HOSTILE_OBSERVATIONS: ReadonlyArray<Partial<Observation>> = [
  {},
  { replicas: 0, ready: 0 },
  { cpu: NaN, rps: NaN, inflight: NaN, replicas: 3, ready: 3 },
  { cpu: Infinity, rps: 1e300, inflight: -5, replicas: 3, ready: 3 },
  { cpu: -10, rps: -1, replicas: 2, ready: 0, starting: 2 },
  { cpu: 50, rps: 100, replicas: 4, ready: 4, fresh: false },
  { cpu: 99, rps: 5000, inflight: 900, replicas: 1, ready: 1, latency: { p50: 1, p95: 2, p99: 3 } },
];

const T0 = Date.UTC(2026, 0, 5, 10);

/** Checks the shape every outcome must have; returns a description for messages. */
export function assertOutcomeShape(
  out: PolicyOutcome,
  where: string,
  options: PolicyContractOptions = {},
): void {
  assert.equal(typeof out.ok, 'boolean', `${where}: ok is a boolean`);
  assert.ok(Array.isArray(out.logs) && out.logs.every((l) => typeof l === 'string'), `${where}: logs`);
  assert.ok(Array.isArray(out.alerts), `${where}: alerts`);
  for (const a of out.alerts) {
    assert.ok(['info', 'warning', 'critical'].includes(a.severity), `${where}: alert severity ${a.severity}`);
    assert.equal(typeof a.message, 'string', `${where}: alert message`);
  }
  assert.doesNotThrow(() => JSON.stringify(out), `${where}: the outcome is data`);
  if (options.alwaysOk) assert.ok(out.ok, `${where} failed: ${!out.ok && out.error}`);
  if (out.ok) {
    assert.ok(Number.isFinite(out.replicas) && out.replicas >= 0, `${where}: replicas ${out.replicas}`);
    if (options.alwaysOk)
      assert.ok(
        Number.isInteger(out.replicas) && out.replicas < 1e9,
        `${where}: ${out.replicas} is not a whole count`,
      );
    if (out.state !== undefined)
      assert.ok(
        out.state !== null && typeof out.state === 'object' && !Array.isArray(out.state),
        `${where}: state`,
      );
  } else {
    assert.match(out.code, /^LS_ERR_POLICY_[A-Z_]+$/, `${where}: code`);
    assert.ok(out.error.length > 0 && !out.error.includes('\n'), `${where}: one-line error: ${out.error}`);
  }
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Registers the contract tests for one Policy implementation; `make` loads a fresh policy. */
export function policyContract(
  label: string,
  make: () => Policy | Promise<Policy>,
  options: PolicyContractOptions = {},
): void {
  const ctx = (obs: Partial<Observation>, now: number, state: Record<string, unknown>): PolicyContext => ({
    ...testContext(obs, { now, state }),
    params: options.params ?? {},
  });

  async function withPolicy(fn: (p: Policy) => void | Promise<void>): Promise<void> {
    const policy = await make();
    try {
      await fn(policy);
    } finally {
      policy.close?.();
    }
  }

  describe(`Policy contract: ${label}`, () => {
    it('has a name and, if any, a source text', () =>
      withPolicy((policy) => {
        assert.equal(typeof policy.name, 'string');
        assert.ok(policy.name.length > 0);
        if (policy.source !== undefined) assert.ok(policy.source.length > 0);
      }));

    it('never throws and answers a well-formed outcome for every observation, carrying its state', () =>
      withPolicy((policy) => {
        const state: Record<string, unknown> = {};
        let now = T0;
        for (const obs of HOSTILE_OBSERVATIONS) {
          for (let i = 0; i < 3; i++) {
            const out = policy.evaluate(ctx(obs, now, state));
            now += 1000;
            assertOutcomeShape(out, `${label} on ${JSON.stringify(obs)}`, options);
            if (out.ok && out.state) Object.assign(state, out.state);
          }
        }
      }));

    it('the same context twice gives the same outcome', () =>
      withPolicy((policy) => {
        let now = T0;
        for (const obs of HOSTILE_OBSERVATIONS) {
          const a = policy.evaluate(ctx(obs, now, {}));
          const b = policy.evaluate(ctx(obs, now, {}));
          assert.deepEqual(b, a, `${label} on ${JSON.stringify(obs)}`);
          now += 1000;
        }
      }));

    it('does not write to frozen inputs (observation, params)', () =>
      withPolicy(async (policy) => {
        const c = ctx({ cpu: 70, rps: 120, replicas: 3, ready: 3 }, T0, {});
        const frozen: PolicyContext = {
          ...c,
          observation: deepFreeze(structuredClone(c.observation)),
          params: deepFreeze(structuredClone(c.params) as Record<string, unknown>),
        };
        const out = policy.evaluate(frozen);
        assertOutcomeShape(out, `${label} on frozen inputs`, options);
        assert.equal(frozen.observation.cpu, 70);
        // A write to a frozen input throws inside evaluate and would turn into a failed outcome.
        const plain = (await make()).evaluate(ctx({ cpu: 70, rps: 120, replicas: 3, ready: 3 }, T0, {}));
        assert.equal(
          out.ok,
          plain.ok,
          `${label}: frozen ${JSON.stringify(out)} vs plain ${JSON.stringify(plain)}`,
        );
      }));
  });
}
