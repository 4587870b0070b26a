/**
 * How close a policy's `ctx.state` is to the sandbox's bounds (entries in all, nesting depth,
 * characters per string; DEFAULT_SANDBOX_LIMITS): `eval` and `simulate` warn at 80 % of any of
 * them, before a growing state fails every call with LS_ERR_POLICY_STATE.
 */
import { DEFAULT_SANDBOX_LIMITS } from '../sandbox/index.js';

/** The share of a bound at which a warning is given. */
export const STATE_WARNING_SHARE = 0.8;

/** Entries, depth and longest string of a state, as the sandbox counts them. */
export function stateUsage(state: unknown): { entries: number; depth: number; longestString: number } {
  let entries = 0;
  let depth = 0;
  let longestString = 0;
  const visit = (v: unknown, level: number) => {
    if (typeof v === 'string') longestString = Math.max(longestString, v.length);
    else if (v !== null && typeof v === 'object') {
      depth = Math.max(depth, level);
      for (const [k, x] of Object.entries(v)) {
        entries++;
        longestString = Math.max(longestString, k.length);
        visit(x, level + 1);
      }
    }
  };
  visit(state, 1);
  return { entries, depth, longestString };
}

/** One warning per bound at or above 80 %, e.g. `ctx.state: 8,200 entries, 82 % of the 10,000 allowed`. */
export function stateWarnings(state: unknown): string[] {
  const u = stateUsage(state);
  const L = DEFAULT_SANDBOX_LIMITS;
  const out: string[] = [];
  const check = (value: number, limit: number, what: string) => {
    if (value >= STATE_WARNING_SHARE * limit)
      out.push(
        `ctx.state: ${value.toLocaleString('en-US')} ${what}, ${Math.round((100 * value) / limit)} % of the ${limit.toLocaleString('en-US')} allowed (beyond, calls fail with LS_ERR_POLICY_STATE)`,
      );
  };
  check(u.entries, L.maxStateEntries, 'entries');
  check(u.depth, L.maxStateDepth, 'levels of nested tables');
  check(u.longestString, L.maxStateString, 'characters in its longest string');
  return out;
}
