/**
 * Telling a module-style Lua policy (one that defines `decide`) from a script by reading its
 * source: comments and string literals aside, without running anything.
 */

/**
 * Whether the source may be module-style: its code (comments and string literals aside) defines
 * a `decide` function or assigns something to a `decide` (`decide = f`, `M.decide = f`, a table
 * field `{ decide = f }`). Only such a file has its top level run at load, which then decides
 * (see LuaVm.detectStyle in lua-vm.ts); any other file is a script and never runs outside a decision.
 */
export function isModuleStyle(source: string): boolean {
  const code = luaCodeOnly(source);
  return DEFINES_DECIDE.test(code) || /\bdecide\s*=(?!=)/.test(code);
}

const DEFINES_DECIDE =
  /\b(local\s+)?function\s+(?:[\w.:]+[.:])?decide\s*\(|\b(local\s+)?decide\s*=\s*function\b/;

/** The first definition of a `decide` function in the code: its line and whether it is `local`. */
export function findDecideDefinition(source: string): { line: number; local: boolean } | undefined {
  const code = luaCodeOnly(source);
  const m = DEFINES_DECIDE.exec(code);
  if (!m) return undefined;
  const line = code.slice(0, m.index).split('\n').length;
  return { line, local: m[1] !== undefined || m[2] !== undefined };
}

/** Lua source with comments and string literals blanked (newlines kept, so lines still count). */
function luaCodeOnly(source: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const long = /^\[(=*)\[/.exec(source.slice(i, i + 64));
    if (c === '-' && source[i + 1] === '-') {
      const lc = /^\[(=*)\[/.exec(source.slice(i + 2, i + 66));
      const end = lc ? source.indexOf(`]${lc[1]}]`, i + 2 + lc[0].length) : source.indexOf('\n', i);
      const stop = end < 0 ? n : lc ? end + lc[1]!.length + 2 : end;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (long) {
      const end = source.indexOf(`]${long[1]}]`, i + long[0].length);
      const stop = end < 0 ? n : end + long[1]!.length + 2;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      out += blank(source.slice(i, j + 1));
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
