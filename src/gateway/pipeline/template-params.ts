/** Path parameters of a route template, for request validation. */

/** Values of `{name}` segments of a template in a concrete path (`/users/{id}` + `/users/7` → { id: '7' }). */
export function templateParams(template: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!template.includes('{')) return out;
  const t = template.split('/');
  const p = path.split('/');
  for (let i = 0; i < t.length && i < p.length; i++) {
    const m = /^\{([^}]+)\}$/.exec(t[i]!);
    if (m) {
      try {
        out[m[1]!] = decodeURIComponent(p[i]!);
      } catch {
        out[m[1]!] = p[i]!;
      }
    }
  }
  return out;
}
