/** Path parameters of a route template, for request validation. */

/** Per template: its regex with one group per `{name}`, and the names in order. */
const compiled = new Map<string, { re: RegExp; names: string[] }>();

/**
 * Values of `{name}` parts of a template in a concrete path (`/users/{id}` + `/users/7` → { id: '7' }).
 * A name may share its segment with literal text, as in `/Calls/{Sid}.json` or `/{owner}/{repo}.git`
 * (the router matches those; each name takes one or more characters other than `/`).
 */
export function templateParams(template: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!template.includes('{')) return out;
  let c = compiled.get(template);
  if (c === undefined) {
    const names: string[] = [];
    const source = template
      .split(/(\{[^/{}]+\})/)
      .map((part, i) => {
        if (i % 2 === 0) return part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
        names.push(part.slice(1, -1));
        return '([^/]+?)';
      })
      .join('');
    c = { re: new RegExp(`^${source}$`), names };
    compiled.set(template, c);
  }
  const m = c.re.exec(path);
  if (m === null) return out;
  for (let i = 0; i < c.names.length; i++) {
    const raw = m[i + 1]!;
    try {
      out[c.names[i]!] = decodeURIComponent(raw);
    } catch {
      out[c.names[i]!] = raw;
    }
  }
  return out;
}
