/**
 * `schedule`: cron windows that set min/max (and optionally a fixed count), like AWS scheduled
 * actions (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-scheduled-scaling.html)
 * and Nomad's `schedule` block, but as windows: a window opens at each minute its 5-field `cron`
 * matches (in `timezone`) and stays open for `duration`.
 *
 * Inside a window (the first open one in list order wins) the recommendation is the inner policy's
 * answer (or the current count) clamped into the window's [min, max], or the window's fixed
 * `replicas`. Outside every window it is the inner policy's answer, or the current count.
 * The decision core still clamps to the service's own min/max; the window's bounds are reported
 * in `detail.min` / `detail.max` so the core and the dashboard can show them.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { paramReader, paramsError } from './params.js';
import { cronFields, isValidTimeZone, parseCron, type Cron } from './cron.js';
import { failure, recommend } from './outcome.js';

/** One validated window. */
export interface ScheduleWindow {
  cron: Cron;
  durationMs: number;
  min?: number;
  max?: number;
  replicas?: number;
}

/** Loads an inner policy by name (the registry passes `loadBuiltin`, avoiding an import cycle). */
export type InnerLoader = (name: string, params: Record<string, unknown>) => Policy;

const MINUTE = 60_000;
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

interface WindowState {
  /** Start (ms) of the latest opening found, or null. */
  lastStart: number | null;
  /** The last minute (ms) scanned for openings. */
  checked: number | null;
}

/** Validates schedule params and loads the inner policy. */
export function parseScheduleParams(
  params: Readonly<Record<string, unknown>>,
  loadInner: InnerLoader,
): { timeZone: string; windows: ScheduleWindow[]; inner?: Policy } {
  const r = paramReader('schedule', params);
  r.onlyKeys(['timezone', 'windows', 'inner']);
  const timeZone = r.string('timezone', 'UTC');
  if (!isValidTimeZone(timeZone))
    r.fail(
      `timezone: unknown time zone ${JSON.stringify(timeZone)} (use UTC or an IANA name such as Europe/Paris)`,
    );
  const raw = r.raw('windows');
  if (!Array.isArray(raw) || raw.length === 0)
    r.fail(
      `windows: expected a non-empty list of {cron, duration, min, max, replicas}, got ${JSON.stringify(raw)}`,
    );
  const windows = (raw as unknown[]).map((item, i): ScheduleWindow => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      paramsError('schedule', `windows[${i}]: expected {cron, duration, ...}`);
    const w = paramReader('schedule', item as Record<string, unknown>, `windows[${i}].`);
    w.onlyKeys(['cron', 'duration', 'min', 'max', 'replicas']);
    let cron: Cron;
    try {
      cron = parseCron(w.string('cron', undefined));
    } catch (err) {
      return w.fail(`windows[${i}].cron: ${(err as Error).message}`);
    }
    const durationMs = w.duration('duration', undefined);
    if (durationMs < MINUTE || durationMs > MAX_WINDOW_MS)
      w.fail(`windows[${i}].duration: must be within 1m..7d, got ${durationMs / 1000}s`);
    const min = w.optionalNumber('min', { min: 0 });
    const max = w.optionalNumber('max', { min: 0 });
    const replicas = w.optionalNumber('replicas', { min: 0 });
    if (min !== undefined && max !== undefined && max < min)
      w.fail(`windows[${i}].max: must be >= min (${min}), got ${max}`);
    if (min === undefined && max === undefined && replicas === undefined)
      w.fail(`windows[${i}]: set min, max or replicas`);
    return { cron, durationMs, min, max, replicas };
  });
  let inner: Policy | undefined;
  const innerRaw = r.raw('inner');
  if (innerRaw !== undefined && innerRaw !== null) {
    if (typeof innerRaw !== 'object' || Array.isArray(innerRaw)) r.fail('inner: expected {builtin, params}');
    const ir = paramReader('schedule', innerRaw as Record<string, unknown>, 'inner.');
    ir.onlyKeys(['builtin', 'params']);
    const name = ir.string('builtin', undefined);
    if (name === 'schedule') ir.fail('inner.builtin: a schedule cannot wrap another schedule');
    const ip = ir.raw('params');
    if (ip !== undefined && (typeof ip !== 'object' || ip === null || Array.isArray(ip)))
      ir.fail('inner.params: expected an object');
    inner = loadInner(name, (ip ?? {}) as Record<string, unknown>);
  }
  return { timeZone, windows, inner };
}

/** Updates one window's bookkeeping up to `now` and says whether it is open. */
export function windowOpen(w: ScheduleWindow, s: WindowState, now: number, timeZone: string): boolean {
  const nowMin = Math.floor(now / MINUTE) * MINUTE;
  // only minutes in (now − duration, now] can open a window that is still open
  const earliest = Math.floor((now - w.durationMs) / MINUTE) * MINUTE + MINUTE;
  let t = s.checked === null ? earliest : Math.max(s.checked + MINUTE, earliest);
  for (; t <= nowMin; t += MINUTE) {
    if (w.cron.matches(cronFields(t, timeZone))) s.lastStart = t;
  }
  if (s.checked === null || nowMin > s.checked) s.checked = nowMin;
  return s.lastStart !== null && now >= s.lastStart && now < s.lastStart + w.durationMs;
}

/** Creates the schedule policy; `loadInner` resolves `params.inner`. */
export function schedule(params: Readonly<Record<string, unknown>>, loadInner: InnerLoader): Policy {
  const p = parseScheduleParams(params, loadInner);
  return {
    name: 'builtin:schedule',
    source: `schedule: ${p.windows.map((w) => `"${w.cron.source}" for ${w.durationMs / 60000}m`).join(', ')} (${p.timeZone})${p.inner ? `, else ${p.inner.name}` : ''}`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const states = (
          Array.isArray(ctx.state.windows) && ctx.state.windows.length === p.windows.length
            ? ctx.state.windows
            : p.windows.map(() => ({ lastStart: null, checked: null }))
        ) as WindowState[];
        ctx.state.windows = states;
        let open = -1;
        for (let i = 0; i < p.windows.length; i++) {
          // every window is advanced, so each keeps an up-to-date `checked`
          if (windowOpen(p.windows[i]!, states[i]!, ctx.now, p.timeZone) && open < 0) open = i;
        }
        const current = ctx.observation.replicas;
        let base = current;
        let innerOutcome: PolicyOutcome | undefined;
        const logs: string[] = [];
        if (p.inner) {
          const innerState = (
            typeof ctx.state.inner === 'object' && ctx.state.inner !== null ? ctx.state.inner : {}
          ) as Record<string, unknown>;
          innerOutcome = p.inner.evaluate({ ...ctx, state: innerState });
          logs.push(...innerOutcome.logs);
          if (innerOutcome.ok) {
            base = innerOutcome.replicas;
            ctx.state.inner = innerOutcome.state ?? innerState;
          }
        }
        if (open < 0) {
          if (innerOutcome) {
            if (!innerOutcome.ok) return innerOutcome;
            return {
              ...innerOutcome,
              detail: { ...innerOutcome.detail, window: null, min: ctx.min, max: ctx.max },
              state: ctx.state,
            };
          }
          return recommend(
            current,
            'outside every window: keep current',
            { window: null, min: ctx.min, max: ctx.max },
            { state: ctx.state, logs },
          );
        }
        const w = p.windows[open]!;
        const min = w.min ?? ctx.min;
        const max = w.max ?? ctx.max;
        const start = states[open]!.lastStart!;
        let desired: number;
        let why: string;
        if (w.replicas !== undefined) {
          desired = Math.min(Math.max(w.replicas, w.min ?? 0), w.max ?? Infinity);
          why = `fixed ${desired}`;
        } else {
          desired = Math.min(Math.max(base, min), max);
          why =
            desired === base
              ? `${innerOutcome?.ok ? p.inner!.name : 'current'} ${base} within [${min}, ${max}]`
              : `${base} clamped to [${min}, ${max}]`;
        }
        return recommend(
          desired,
          `window "${w.cron.source}" open: ${why}`,
          {
            window: open,
            cron: w.cron.source,
            opened: start,
            closes: start + w.durationMs,
            min,
            max,
            inner: innerOutcome?.ok ? innerOutcome.replicas : null,
          },
          { state: ctx.state, logs },
        );
      } catch (err) {
        return failure('schedule', err);
      }
    },
  };
}
