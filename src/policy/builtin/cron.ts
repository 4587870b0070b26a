/**
 * A 5-field cron matcher (minute hour day-of-month month day-of-week), as crontab(5) defines it:
 * `*`, lists `a,b`, ranges `a-b`, steps `* /n` and `a-b/n`, names (jan, mon), 7 = Sunday, and the
 * classic rule that when both day fields are restricted, either one matching is enough.
 */
import { LuascaleError } from '../../core/errors.js';

/** A parsed cron expression. */
export interface Cron {
  readonly source: string;
  /** Whether the wall-clock fields match. */
  matches(f: CronFields): boolean;
}

/** Wall-clock fields of one minute. */
export interface CronFields {
  minute: number;
  hour: number;
  day: number;
  /** 1..12 */
  month: number;
  /** 0..6, Sunday = 0 */
  weekday: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** One cron field's range, the names it accepts (the first is `nameBase`) and its label in errors. */
interface FieldSpec {
  min: number;
  max: number;
  names?: string[];
  nameBase?: number;
  label: string;
}

const MINUTE: FieldSpec = { min: 0, max: 59, label: 'minute' };
const HOUR: FieldSpec = { min: 0, max: 23, label: 'hour' };
const DAY: FieldSpec = { min: 1, max: 31, label: 'day of month' };
const MONTH: FieldSpec = { min: 1, max: 12, names: MONTHS, nameBase: 1, label: 'month' };
const WEEKDAY: FieldSpec = { min: 0, max: 7, names: DAYS, nameBase: 0, label: 'day of week' };

// Field errors are plain: parseCron wraps them in LS_ERR_CRON naming the expression, and its only
// caller, schedule's param reader, reports that as LS_ERR_POLICY_PARAMS naming windows[i].cron.
function parseField(text: string, { min, max, names, nameBase = 0, label }: FieldSpec): Set<number> {
  const out = new Set<number>();
  const value = (s: string): number => {
    const lower = s.toLowerCase();
    if (names) {
      const i = names.indexOf(lower);
      if (i >= 0) return i + nameBase;
    }
    if (!/^\d+$/.test(s)) throw new FieldError(`${label}: "${s}" is not a number`);
    return Number(s);
  };
  for (const part of text.split(',')) {
    const [rangeText, stepText] = part.split('/');
    if (rangeText === undefined || rangeText === '')
      throw new FieldError(`${label}: empty item in "${text}"`);
    let lo: number;
    let hi: number;
    if (rangeText === '*') {
      lo = min;
      hi = max;
    } else if (rangeText.includes('-')) {
      const [a, b] = rangeText.split('-');
      lo = value(a ?? '');
      hi = value(b ?? '');
    } else {
      lo = value(rangeText);
      hi = stepText !== undefined ? max : lo;
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new FieldError(`${label}: bad step "${stepText}"`);
    if (lo < min || hi > max || lo > hi)
      throw new FieldError(`${label}: ${rangeText} is outside ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** A bad field; parseCron turns it into LS_ERR_CRON. */
class FieldError extends Error {}

/** Parses a 5-field cron expression; throws LS_ERR_CRON naming the bad field. */
export function parseCron(expr: string): Cron {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5)
    throw new LuascaleError('LS_ERR_CRON', {
      expr,
      reason: `expected 5 fields (minute hour day month weekday), got ${fields.length}`,
    });
  const [mi, ho, dom, mo, dow] = fields as [string, string, string, string, string];
  try {
    const minutes = parseField(mi, MINUTE);
    const hours = parseField(ho, HOUR);
    const days = parseField(dom, DAY);
    const months = parseField(mo, MONTH);
    const weekdays = parseField(dow, WEEKDAY);
    if (weekdays.has(7)) weekdays.add(0);
    const domStar = dom === '*' || dom.startsWith('*/');
    const dowStar = dow === '*' || dow.startsWith('*/');
    return {
      source: expr,
      matches(f) {
        if (!minutes.has(f.minute) || !hours.has(f.hour) || !months.has(f.month)) return false;
        const d = days.has(f.day);
        const w = weekdays.has(f.weekday);
        // crontab(5): if both day fields are restricted, a match on either is enough
        if (!domStar && !dowStar) return d || w;
        return d && w;
      },
    };
  } catch (err) {
    throw new LuascaleError('LS_ERR_CRON', { expr, reason: (err as Error).message });
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of epoch ms `t` in `timeZone` (`UTC` or an IANA name). */
export function cronFields(t: number, timeZone: string): CronFields {
  if (timeZone === 'UTC') {
    const d = new Date(t);
    return {
      minute: d.getUTCMinutes(),
      hour: d.getUTCHours(),
      day: d.getUTCDate(),
      month: d.getUTCMonth() + 1,
      weekday: d.getUTCDay(),
    };
  }
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      minute: 'numeric',
      hour: 'numeric',
      day: 'numeric',
      month: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, fmt);
  }
  const f: CronFields = { minute: 0, hour: 0, day: 1, month: 1, weekday: 0 };
  for (const part of fmt.formatToParts(new Date(t))) {
    if (part.type === 'minute') f.minute = Number(part.value);
    else if (part.type === 'hour') f.hour = Number(part.value) % 24;
    else if (part.type === 'day') f.day = Number(part.value);
    else if (part.type === 'month') f.month = Number(part.value);
    else if (part.type === 'weekday') f.weekday = DAYS.indexOf(part.value.toLowerCase().slice(0, 3));
  }
  return f;
}

/** Whether `timeZone` is one this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
