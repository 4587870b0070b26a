/**
 * Alerts as a pure state machine per (service, name): inactive → pending (condition true, `for`
 * not yet elapsed) → firing → resolved. Firing alerts are de-duplicated, repeated every
 * `repeatIntervalMs`, and a resolved notice is sent once (Alertmanager semantics). Time is passed in.
 */

/** How bad it is. */
export type Severity = 'info' | 'warning' | 'critical';

/** A user rule from `services.<name>.alerts`, normalised to ms. */
export interface AlertRule {
  name: string;
  metric: string;
  op: '>' | '>=' | '<' | '<=' | '==' | '!=';
  threshold: number;
  forMs: number;
  severity: Severity;
}

/** One alert's identity and text. */
export interface Alert {
  service: string;
  name: string;
  severity: Severity;
  message: string;
  /** Wall-clock-free: the tick time (ms) at which it started firing. */
  startsAt: number;
  endsAt?: number;
  labels?: Record<string, string>;
}

/** What a notifier is told. */
export interface AlertNotice {
  status: 'firing' | 'resolved';
  /** True when this repeats an alert already sent. */
  repeat: boolean;
  alert: Alert;
}

/** A condition observed this tick (from a rule or from a built-in check). */
export interface Condition {
  name: string;
  active: boolean;
  severity: Severity;
  message: string;
  forMs?: number;
}

interface Track {
  pendingSince: number | null;
  firing: Alert | null;
  lastSentAt: number;
}

/** Compares a value with a rule's threshold. */
export function compare(value: number, op: AlertRule['op'], threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** Turns user rules and metric values into conditions; a missing metric makes the rule inactive. */
export function ruleConditions(rules: AlertRule[], values: Record<string, number | undefined>): Condition[] {
  return rules.map((r) => {
    const v = values[r.metric];
    const active = v !== undefined && Number.isFinite(v) && compare(v, r.op, r.threshold);
    return {
      name: r.name,
      active,
      severity: r.severity,
      forMs: r.forMs,
      message: `${r.metric} ${r.op} ${r.threshold} (now ${v === undefined ? 'n/a' : +v.toFixed(3)})`,
    };
  });
}

/** De-duplicates, delays by `for`, repeats and resolves alerts. */
export class AlertEngine {
  readonly #tracks = new Map<string, Track>();
  readonly #repeatIntervalMs: number;

  constructor(options: { repeatIntervalMs: number }) {
    this.#repeatIntervalMs = options.repeatIntervalMs;
  }

  /**
   * Feeds this tick's conditions for a service. Conditions not mentioned keep their state, so
   * event-driven alerts (crash loop) and tick-driven ones can be fed separately.
   */
  update(service: string, conditions: Condition[], now: number): AlertNotice[] {
    const out: AlertNotice[] = [];
    for (const c of conditions) {
      const key = `${service}\u0000${c.name}`;
      let t = this.#tracks.get(key);
      if (!t) this.#tracks.set(key, (t = { pendingSince: null, firing: null, lastSentAt: 0 }));
      if (c.active) {
        t.pendingSince ??= now;
        if (t.firing) {
          t.firing.message = c.message;
          if (now - t.lastSentAt >= this.#repeatIntervalMs) {
            t.lastSentAt = now;
            out.push({ status: 'firing', repeat: true, alert: { ...t.firing } });
          }
        } else if (now - t.pendingSince >= (c.forMs ?? 0)) {
          t.firing = { service, name: c.name, severity: c.severity, message: c.message, startsAt: now };
          t.lastSentAt = now;
          out.push({ status: 'firing', repeat: false, alert: { ...t.firing } });
        }
      } else {
        t.pendingSince = null;
        if (t.firing) {
          out.push({ status: 'resolved', repeat: false, alert: { ...t.firing, endsAt: now } });
          t.firing = null;
        }
      }
    }
    return out;
  }

  /** Alerts firing now, for the admin API and the dashboard. */
  firing(service?: string): Alert[] {
    const out: Alert[] = [];
    for (const t of this.#tracks.values())
      if (t.firing && (!service || t.firing.service === service)) out.push({ ...t.firing });
    return out;
  }
}
