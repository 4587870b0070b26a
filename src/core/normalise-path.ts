/**
 * A request path reduced to one spelling before it is matched (RFC 3986 §6.2.2), so that spellings
 * the RFC calls equivalent reach the same route and count as one operation:
 * - percent-encodings are written with upper-case hex (§6.2.2.1: `%2f` is `%2F`);
 * - a percent-encoded unreserved character is the character (§6.2.2.2: `%7E` is `~`, `%41` is `A`);
 * - `.` and `..` segments are removed (§6.2.2.3 and §5.2.4), after the step above (`%2E%2E` is `..`).
 * Nothing else is decoded: `%2F` stays `%2F` (a slash inside one segment, not a separator), and
 * `%3F`, `%23`, `%25` and non-ASCII stay encoded. Double slashes and a trailing slash are left as
 * they are: they name other resources (an empty segment is a segment).
 *
 * A path this cannot reduce is refused: a `%` not followed by two hex digits (RFC 3986 §2.1), and
 * a NUL (`%00`, which no resource name holds and C back ends cut the path at).
 */

/** The reduced path, whether `.`/`..` segments were removed (the target then changes), or why it is refused. */
export type NormalisedPath = { path: string; dotSegments: boolean } | { refused: string };

const HEX = '0123456789ABCDEF';

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function unreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * `s` with its percent-encodings in the normal form of §6.2.2.1 and §6.2.2.2; undefined when a `%`
 * is not followed by two hex digits, or encodes a NUL. Used for request paths and for the literal
 * text of the document's path templates alike, so the two meet in one spelling.
 */
export function normalisePercent(s: string): string | undefined {
  let i = s.indexOf('%');
  if (i < 0) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch !== 0x25) {
      out += s[i];
      continue;
    }
    const hi = hexValue(s.charCodeAt(i + 1));
    const lo = hexValue(s.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const byte = hi * 16 + lo;
    if (byte === 0) return undefined;
    out += unreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4 on an absolute path: `/a/./b/../c` → `/a/c`; `..` at the root stays at the root. */
export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 0) out.pop();
      // A final `.` or `..` names the directory: `/a/b/..` → `/a/`.
      if (last) out.push('');
    } else out.push(seg);
  }
  return '/' + out.join('/');
}

/** The form of `path` (origin-form, without the query) that routes are matched against. */
export function normalisePath(path: string): NormalisedPath {
  const p = normalisePercent(path);
  if (p === undefined)
    return {
      refused: /%00/.test(path)
        ? 'a NUL (%00) in the path'
        : 'malformed percent-encoding in the path (% must be followed by two hex digits)',
    };
  if (!hasDotSegment(p)) return { path: p, dotSegments: false };
  return { path: removeDotSegments(p), dotSegments: true };
}

function hasDotSegment(p: string): boolean {
  for (let i = p.indexOf('/.'); i >= 0; i = p.indexOf('/.', i + 1)) {
    const a = p.charCodeAt(i + 2);
    // `/.` then the end or `/`, or `/..` then the end or `/`.
    if (Number.isNaN(a) || a === 0x2f) return true;
    if (a === 0x2e) {
      const b = p.charCodeAt(i + 3);
      if (Number.isNaN(b) || b === 0x2f) return true;
    }
  }
  return false;
}
