/**
 * The control loop of one service: collect → decide → actuate → record, every `intervalMs`.
 * Only this shell does I/O; `decide` stays pure. Nothing here may throw out of a tick: a failing
 * signal source, metric source or provider becomes a Decision with a reason, an event and a backoff,
 * and the gateway keeps serving whatever happens here.
 */
import type { Clock } from '../core/clock.js';
import {
  emptyHistory,
  type HistoryReader,
  type Observation,
  type PolicyContext,
  type PolicyOutcome,
  type Slo,
} from '../policy/policy.js';
import { decide, policyRuns } from './decide.js';
import { initialDecisionState, type Decision, type DecisionState, type ScalingSpec } from './decision.js';
import type { Instance, InstanceUsage, Provider } from './provider.js';
import { AlertEngine, type AlertNotice, type AlertRule } from './alert-engine.js';
import { alertConditions } from './alert-conditions.js';
import { collectObservation, type CollectedState } from './collect-observation.js';
import { planActuation } from './plan-actuation.js';
import type { MetricSource } from './metric-source.js';
import type { SignalSource } from './signal-source.js';

/** The gateway's signals as the controller reads them; its own file, the controller owns it. */
export type { SignalSource } from './signal-source.js';

/** A custom metric (an HTTP JSON endpoint, a PromQL query); its own file, the controller owns it. */
export type { MetricSource } from './metric-source.js';

/** One thing worth recording. `at` is wall-clock ms. */
export interface ControllerEvent {
  service: string;
  type: 'decision' | 'scale' | 'instance' | 'alert' | 'error' | 'override' | 'policy';
  at: number;
  data: Record<string, unknown>;
}

/** What the loop needs; collaborators come in here (house style: options object, no DI container). */
export interface ServiceControllerOptions {
  spec: ScalingSpec;
  provider: Provider;
  signals: SignalSource;
  clock: Clock;
  metricSources?: MetricSource[];
  history?: HistoryReader;
  /** The SLO from config or OpenAPI, passed to policies as ctx.slo. */
  slo?: Slo;
  /** Configured startup time; measured from ready events when absent. */
  startupMs?: number;
  /** Restored decision state (from the store). */
  state?: DecisionState;
  /**
   * Evaluates the policy off the main thread (the sandbox worker with its wall-clock backstop).
   * Without it, `spec.policy.evaluate` runs in this thread.
   */
  evaluatePolicy?: (ctx: PolicyContext) => Promise<PolicyOutcome>;
  alertRules?: AlertRule[];
  alerts?: AlertEngine;
  onEvent?: (event: ControllerEvent) => void;
  onAlerts?: (notices: AlertNotice[]) => void;
  onDecision?: (decision: Decision, observation: Observation) => void;
  onState?: (state: DecisionState) => void;
}

/** Everything the admin API shows about a service's loop. */
export interface ControllerStatus {
  service: string;
  desired: number;
  replicas: { starting: number; ready: number; draining: number };
  instances: Instance[];
  lastDecision: Decision | null;
  lastObservation: Observation | null;
  /** Per-instance CPU and memory from the last tick, by instance id. */
  usage: Record<string, InstanceUsage>;
  override: DecisionState['override'];
  paused: boolean;
  errors: { actuation: string | null; metricSources: Record<string, string> };
  /**
   * The actuation failure not yet resolved: a launch or stop that failed (`scale_command` exiting
   * non-zero, a command not on PATH) or the provider's failing list (`stage: 'list'`); null once
   * the next attempt succeeds.
   */
  actuationError: ActuationError | null;
}

/** One unresolved actuation failure, as status and the admin API show it. */
export interface ActuationError {
  stage: 'launch' | 'stop' | 'list';
  message: string;
  /** Wall-clock ms of the latest failure. */
  at: number;
  /** Failures in a row. */
  failures: number;
}

const MAX_BACKOFF_MS = 30_000;

/** Runs one service's control loop. */
export class ServiceController {
  readonly service: string;
  #opts: ServiceControllerOptions;
  #spec: ScalingSpec;
  #state: DecisionState;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<Decision> | null = null;
  #desired: number;
  #lastDecision: Decision | null = null;
  #recordNext = false;
  #lastObservation: Observation | null = null;
  #collected: CollectedState = { usage: {}, values: {}, errors: {} };
  #actuationError: string | null = null;
  #lastFailure: ActuationError | null = null;
  #syncFailure: ActuationError | null = null;
  #actuateNotBefore = 0;
  #backoffMs = 1000;
  #startupEwmaMs: number | null = null;
  #stopping = new Set<string>();
  #directionChanges: number[] = [];
  #lastDirection = 0;
  #crashLoop: { active: boolean; message: string } = { active: false, message: '' };
  #alerts: AlertEngine;
  #unsubscribe: Array<() => void> = [];

  constructor(options: ServiceControllerOptions) {
    this.#opts = options;
    this.#spec = options.spec;
    this.service = options.spec.service;
    this.#state = options.state ?? initialDecisionState();
    this.#desired = options.provider.list().filter((i) => i.state !== 'draining').length;
    this.#alerts = options.alerts ?? new AlertEngine({ repeatIntervalMs: 4 * 3_600_000 });
    const p = options.provider;
    this.#unsubscribe.push(
      p.on('ready', (inst) => {
        if (inst.readyAt !== undefined) {
          const ms = Math.max(0, inst.readyAt - inst.startedAt);
          // EWMA, α = 0.3: recent starts matter most, one slow start does not dominate.
          this.#startupEwmaMs = this.#startupEwmaMs === null ? ms : 0.7 * this.#startupEwmaMs + 0.3 * ms;
        }
        this.#event('instance', {
          id: inst.id,
          state: 'ready',
          url: inst.url,
          adopted: inst.adopted ?? false,
        });
      }),
      p.on('failed', (inst, reason) => this.#event('instance', { id: inst.id, state: 'failed', reason })),
      p.on('exited', (inst, exit) => this.#event('instance', { id: inst.id, state: 'stopped', ...exit })),
      p.on('sync', (sync) => {
        if (sync.ok) {
          this.#syncFailure = null;
          return;
        }
        this.#syncFailure = {
          stage: 'list',
          message: sync.message,
          at: this.#opts.clock.wallNow(),
          failures: sync.failures,
        };
        this.#event('error', {
          stage: 'list',
          message: sync.message,
          failures: sync.failures,
          retryInMs: sync.retryInMs,
        });
      }),
      p.on('crashloop', (info) => {
        this.#crashLoop = {
          active: true,
          message: `${info.crashes} crashes in a row; next start in ${info.backoffMs} ms`,
        };
        this.#event('alert', { name: 'CrashLoop', message: this.#crashLoop.message });
      }),
    );
  }

  /** The spec in force (the policy may be hot-reloaded). */
  get spec(): ScalingSpec {
    return this.#spec;
  }

  /** Replaces the spec (policy hot reload, config reload); the decision state carries over. */
  setSpec(spec: ScalingSpec): void {
    const old = this.#spec;
    this.#spec = spec;
    if (old.policy !== spec.policy) old.policy.close?.();
    this.#event('policy', { policy: spec.policy.name });
  }

  /** Starts ticking every `spec.intervalMs`; the first tick runs at once. */
  start(): void {
    if (this.#timer) return;
    const loop = () => {
      const iv = this.#spec.intervalMs;
      // The gateway's rates are over complete seconds: ticking just after a second completes sees
      // a load step up to a second sooner than a tick at a random phase would.
      const delay = iv % 1000 === 0 ? iv - ((this.#opts.clock.now() - 5 + 1000) % 1000) : iv;
      this.#timer = setTimeout(loop, delay);
      this.#timer.unref?.();
      if (!this.#ticking) void this.tick();
    };
    loop();
  }

  /**
   * Ticks now, unless the loop is stopped or a tick is running: capacity is needed at once (a
   * request waits with no ready instance). The loop's own timer is left as it is.
   */
  wake(): void {
    if (this.#timer !== null && !this.#ticking) void this.tick();
  }

  /** Stops ticking (instances keep running); waits for a tick in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#ticking;
  }

  /** Sets a fixed count, optionally for `ttlMs`. */
  setOverride(replicas: number, ttlMs?: number): void {
    const now = this.#opts.clock.now();
    this.#state = { ...this.#state, override: { replicas, until: ttlMs ? now + ttlMs : null } };
    this.#event('override', { replicas, ttlMs: ttlMs ?? null });
    this.#opts.onState?.(this.#state);
  }

  /** Clears a manual override. */
  clearOverride(): void {
    this.#state = { ...this.#state, override: null };
    this.#event('override', { replicas: null });
    this.#opts.onState?.(this.#state);
  }

  /** Pauses or resumes scaling (the loop still collects and records). */
  setPaused(paused: boolean): void {
    this.#state = { ...this.#state, paused };
    this.#event('override', { paused });
    this.#opts.onState?.(this.#state);
  }

  /** A snapshot for the admin API and the dashboard. */
  status(): ControllerStatus {
    const instances = this.#opts.provider.list();
    const count = (s: string) => instances.filter((i) => i.state === s).length;
    return {
      service: this.service,
      desired: this.#desired,
      replicas: { starting: count('starting'), ready: count('ready'), draining: count('draining') },
      instances,
      lastDecision: this.#lastDecision,
      lastObservation: this.#lastObservation,
      usage: { ...this.#collected.usage },
      override: this.#state.override,
      paused: this.#state.paused,
      errors: { actuation: this.#actuationError, metricSources: { ...this.#collected.errors } },
      actuationError: this.#lastFailure ?? this.#syncFailure,
    };
  }

  /** Alerts firing for this service. */
  firingAlerts() {
    return this.#alerts.firing(this.service);
  }

  /** Runs one collect → decide → actuate → record cycle. Never rejects. */
  tick(): Promise<Decision> {
    const run = this.#tick().finally(() => {
      this.#ticking = null;
    });
    this.#ticking = run;
    return run;
  }

  async #tick(): Promise<Decision> {
    const now = this.#opts.clock.now();
    const observation = await this.#collect(now);
    const history = this.#opts.history ?? emptyHistory;
    let spec = this.#spec;
    if (this.#opts.evaluatePolicy && policyRuns(this.#state, observation, now)) {
      // Run the policy off-thread first, then let the pure core replay its outcome; decide()
      // evaluates it exactly when policyRuns() holds, so it never falls back to this thread.
      const outcome = await this.#opts.evaluatePolicy({
        service: spec.service,
        now,
        min: spec.min,
        max: spec.max,
        observation,
        params: spec.params,
        state: structuredClone(this.#state.policyState),
        history,
      });
      spec = {
        ...spec,
        policy: { name: spec.policy.name, source: spec.policy.source, evaluate: () => outcome },
      };
    }
    let decision: Decision;
    try {
      const result = decide(spec, { observation, history, state: this.#state, now });
      decision = result.decision;
      this.#state = result.state;
      this.#opts.onState?.(this.#state);
    } catch (err) {
      // decide() is pure and should not throw; if it does, hold the count and say so.
      decision = {
        service: this.service,
        at: now,
        current: observation.replicas,
        replicas: observation.replicas,
        reason: 'PolicyError',
        message: `internal error in decide(): ${(err as Error).message}`,
        mode: 'stable',
        inputs: observation,
        policy: {
          name: spec.policy.name,
          outcome: { ok: false, code: 'LS_ERR_POLICY_RUNTIME', error: String(err), logs: [], alerts: [] },
        },
        steps: [],
      };
    }
    this.#lastObservation = observation;
    this.#record(decision, observation);
    await this.#actuate(decision.replicas, now);
    this.#checkAlerts(decision, observation, now);
    this.#lastDecision = decision;
    this.#opts.onDecision?.(decision, observation);
    return decision;
  }

  #collect(now: number): Promise<Observation> {
    const o = this.#opts;
    return collectObservation(this.service, {
      now,
      provider: o.provider,
      signals: o.signals,
      metricSources: o.metricSources ?? [],
      intervalMs: this.#spec.intervalMs,
      slo: o.slo,
      startupMs: () => o.startupMs ?? this.#startupEwmaMs,
      into: this.#collected,
    });
  }

  /** Converges the provider on `desired`: launch, or drain-and-stop the best victims. */
  async #actuate(desired: number, now: number): Promise<void> {
    this.#desired = desired;
    const p = this.#opts.provider;
    if (p.advisory || now < this.#actuateNotBefore) return;
    const plan = planActuation(desired, {
      instances: p.list(),
      stopping: this.#stopping,
      // A provider that replaces crashed instances itself (after a back-off) has those coming already.
      pending: p.pendingReplacements?.() ?? 0,
    });
    try {
      if (plan.action === 'launch') {
        const launched = await Promise.all(Array.from({ length: plan.count }, () => p.launch()));
        this.#event('scale', {
          direction: 'up',
          from: plan.from,
          to: desired,
          instances: launched.map((i) => i.id),
        });
      } else if (plan.action === 'stop') {
        const victims = plan.victims;
        this.#event('scale', {
          direction: 'down',
          from: plan.from,
          to: desired,
          instances: victims.map((i) => i.id),
        });
        for (const v of victims) {
          this.#stopping.add(v.id);
          p.stop(v.id)
            .catch((err) => {
              this.#failed('stop', (err as Error).message);
              this.#event('error', { stage: 'stop', id: v.id, message: (err as Error).message });
            })
            .finally(() => this.#stopping.delete(v.id));
        }
      }
      this.#actuationError = null;
      this.#lastFailure = null;
      this.#backoffMs = 1000;
    } catch (err) {
      this.#actuationError = (err as Error).message;
      this.#failed('launch', this.#actuationError);
      this.#actuateNotBefore = now + this.#backoffMs;
      this.#event('error', { stage: 'actuate', message: this.#actuationError, retryInMs: this.#backoffMs });
      this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
    }
  }

  #failed(stage: ActuationError['stage'], message: string): void {
    const failures = this.#lastFailure?.stage === stage ? this.#lastFailure.failures + 1 : 1;
    this.#lastFailure = { stage, message, at: this.#opts.clock.wallNow(), failures };
  }

  /**
   * Records the next decision as an event even when nothing changed: a follower that has just
   * become the leader has recorded none of its steady decisions (its events were advisory).
   */
  recordNextDecision(): void {
    this.#recordNext = true;
  }

  #record(d: Decision, _o: Observation): void {
    const prev = this.#recordNext ? null : this.#lastDecision;
    this.#recordNext = false;
    // Every change, and every change of reason, is an event; a steady state is not re-recorded each tick.
    if (!prev || d.replicas !== d.current || prev.reason !== d.reason || prev.replicas !== d.replicas) {
      this.#event('decision', d as unknown as Record<string, unknown>);
    }
    const dir = Math.sign(d.replicas - d.current);
    if (dir !== 0) {
      if (this.#lastDirection !== 0 && dir !== this.#lastDirection) this.#directionChanges.push(d.at);
      this.#lastDirection = dir;
    }
  }

  #checkAlerts(d: Decision, o: Observation, now: number): void {
    this.#directionChanges = this.#directionChanges.filter((t) => now - t <= 600_000);
    const conditions = alertConditions(d, o, {
      max: this.#spec.max,
      directionChanges: this.#directionChanges.length,
      crashLoop: this.#crashLoop,
      failure: this.#lastFailure ?? this.#syncFailure,
      sourceErrors: this.#collected.errors,
      rules: this.#opts.alertRules ?? [],
    });
    // The crash-loop alert resolves once an instance has become ready again.
    if (this.#crashLoop.active && o.ready > 0) this.#crashLoop = { active: false, message: '' };
    const notices = this.#alerts.update(this.service, conditions, now);
    if (notices.length > 0) {
      for (const n of notices) this.#event('alert', { status: n.status, repeat: n.repeat, ...n.alert });
      this.#opts.onAlerts?.(notices);
    }
  }

  #event(type: ControllerEvent['type'], data: Record<string, unknown>): void {
    try {
      this.#opts.onEvent?.({ service: this.service, type, at: this.#opts.clock.wallNow(), data });
    } catch {
      // A failing recorder must not break the loop; the store surfaces its own write errors.
    }
  }
}
