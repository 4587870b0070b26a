/**
 * A small Lua highlighter for the read-only policy view: one left-to-right scan producing
 * HTML-escaped text with `<span class="lua-…">` around comments, strings, numbers, keywords and
 * built-ins. Lexical rules from the Lua 5.4 manual §3.1 (long brackets `[==[ ]==]`, `--` comments).
 */

const KEYWORDS = new Set(
  'and break do else elseif end false for function goto if in local nil not or repeat return then true until while'.split(
    ' ',
  ),
);
const BUILTINS = new Set(
  'math string table ipairs pairs tonumber tostring type select error assert pcall log alert print next setmetatable getmetatable rawget rawset unpack'.split(
    ' ',
  ),
);

/** Escapes `& < > "` for HTML text and attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Lua source → highlighted, escaped HTML (the text content is unchanged). */
export function highlightLua(src: string): string {
  let out = '';
  let i = 0;
  const span = (cls: string, text: string) => `<span class="lua-${cls}">${escapeHtml(text)}</span>`;
  while (i < src.length) {
    const c = src[i]!;
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if (rest.startsWith('--')) {
      const long = /^--\[(=*)\[/.exec(rest);
      const end = long ? rest.indexOf(`]${long[1]}]`, long[0].length) : rest.indexOf('\n');
      const len = end < 0 ? rest.length : long ? end + long[1]!.length + 2 : end;
      out += span('comment', rest.slice(0, len));
      i += len;
    } else if ((m = /^\[(=*)\[/.exec(rest))) {
      const end = rest.indexOf(`]${m[1]}]`, m[0].length);
      const len = end < 0 ? rest.length : end + m[1]!.length + 2;
      out += span('string', rest.slice(0, len));
      i += len;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      j = Math.min(src.length, j + 1);
      out += span('string', src.slice(i, j));
      i = j;
    } else if (
      (m = /^(0[xX][0-9a-fA-F.]+([pP][+-]?\d+)?|\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)/.exec(rest))
    ) {
      out += span('number', m[0]);
      i += m[0].length;
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
      const w = m[0];
      const prevDot = i > 0 && src[i - 1] === '.';
      if (KEYWORDS.has(w)) out += span('keyword', w);
      else if (!prevDot && BUILTINS.has(w)) out += span('builtin', w);
      else out += escapeHtml(w);
      i += w.length;
    } else {
      out += escapeHtml(c);
      i++;
    }
  }
  return out;
}
