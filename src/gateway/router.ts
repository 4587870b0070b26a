/**
 * Route table: host, exact path, `{param}` templates, path prefixes and methods, compiled once so a
 * lookup is a Map get for exact paths and a short ordered scan otherwise. The most specific route
 * wins: a route naming the request's host beats a host-less one (as nginx picks `server` before
 * `location`), then exact path > template (more literal segments first) > longest prefix, then a
 * route listing methods beats one accepting any method.
 */
import { normalisePercent } from '../core/normalise-path.js';
import { compileTemplate, type TemplateMatcher } from './pipeline/template-params.js';

/** One route as configured (paths are origin-form, e.g. `/users/{id}`). */
export interface RouteOptions {
  /** Host to match (case-insensitive, port ignored), or `*.example.com`; omitted = any host. */
  host?: string;
  /** Exact path or template with `{name}` segments. */
  path?: string;
  /** Matches this path and everything below it on a segment boundary. */
  path_prefix?: string;
  /** Allowed methods (upper case); omitted = any. */
  methods?: string[];
  /** OpenAPI operation id, carried to signals and the access log. */
  operationId?: string;
  /** Per-route timeouts in ms; override the service's `traffic.timeouts`. */
  timeouts?: { connect?: number; response?: number; idle?: number };
  /** Largest request body in bytes (413 above it); overrides the service's `traffic.max_body`. */
  max_body?: number;
}

/** A compiled route: what the proxy needs at request time, computed once. */
export interface Route<S = unknown> {
  readonly service: string;
  /** Bounded-cardinality label: the template (never the raw path). */
  readonly template: string;
  readonly operationId: string | undefined;
  readonly options: RouteOptions;
  /** Per-service data attached by the gateway (pool, admission, ...). */
  readonly data: S;
}

interface Compiled<S> {
  route: Route<S>;
  methods: Set<string> | null;
  kind: 0 | 1 | 2; // 0 exact, 1 template, 2 prefix
  path: string;
  /** A template's matcher (linear time: template-params.ts). */
  match: TemplateMatcher | null;
  score: number;
}

interface Table<S> {
  exact: Map<string, Compiled<S>[]>;
  templates: Compiled<S>[];
  prefixes: Compiled<S>[];
}

/** A compiled route table. */
export interface Router<S = unknown> {
  /** The matching route, or undefined (the caller answers 404). `path` excludes the query. */
  match(method: string, host: string | undefined, path: string): Route<S> | undefined;
  readonly routes: readonly Route<S>[];
}

const TEMPLATE_SEGMENT = /\{[^/{}]+\}/g;

/** Validates and compiles routes; throws RangeError naming the offending route. */
export function createRouter<S>(entries: { service: string; route: RouteOptions; data: S }[]): Router<S> {
  const byHost = new Map<string, Table<S>>();
  const wildcards: { suffix: string; table: Table<S> }[] = [];
  const any: Table<S> = newTable();
  const routes: Route<S>[] = [];
  for (const { service, route: r, data } of entries) {
    const where = `service ${service} route ${JSON.stringify(r)}`;
    if ((r.path === undefined) === (r.path_prefix === undefined)) {
      throw new RangeError(`${where}: exactly one of path or path_prefix is required`);
    }
    // Requests are matched in their RFC 3986 normal form (route stage), so routes are written in it
    // (a malformed `%` is left as written: no request holding one gets this far).
    const raw = normalisePercent(r.path ?? r.path_prefix!) ?? (r.path ?? r.path_prefix)!;
    if (!raw.startsWith('/')) throw new RangeError(`${where}: path must start with "/"`);
    const isTemplate = r.path !== undefined && raw.includes('{');
    const kind: 0 | 1 | 2 = r.path_prefix !== undefined ? 2 : isTemplate ? 1 : 0;
    const template = kind === 2 ? (raw.endsWith('/') ? raw + '*' : raw + '/*') : raw;
    const route: Route<S> = { service, template, operationId: r.operationId, options: r, data };
    routes.push(route);
    let match: TemplateMatcher | null = null;
    let score = 0;
    if (kind === 1) {
      const literal = raw.split('/').filter((s) => s && !s.includes('{')).length;
      match = compileTemplate(raw).match;
      // Ties (same literal segments and depth) go to more literal text: `/{o}/{r}.git` before `/{o}/{r}`.
      const text = raw.replace(TEMPLATE_SEGMENT, '').length;
      score = (literal * 1000 + raw.split('/').length) * 1000 + Math.min(text, 999);
    } else if (kind === 2) {
      score = raw.length;
    }
    const methods = r.methods && r.methods.length ? new Set(r.methods.map((m) => m.toUpperCase())) : null;
    const c: Compiled<S> = { route, methods, kind, path: raw, match, score: score * 2 + (methods ? 1 : 0) };
    let table = any;
    if (r.host) {
      const h = r.host.toLowerCase();
      if (h.startsWith('*.')) {
        const suffix = h.slice(1);
        let w = wildcards.find((x) => x.suffix === suffix);
        if (!w) wildcards.push((w = { suffix, table: newTable() }));
        table = w.table;
      } else {
        table = byHost.get(h) ?? newTable();
        byHost.set(h, table);
      }
    }
    if (kind === 0) {
      const list = table.exact.get(raw) ?? [];
      list.push(c);
      list.sort((a, b) => b.score - a.score);
      table.exact.set(raw, list);
    } else if (kind === 1) {
      table.templates.push(c);
    } else {
      table.prefixes.push(c);
    }
  }
  // Longer wildcard suffixes are more specific.
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  for (const t of [any, ...byHost.values(), ...wildcards.map((w) => w.table)]) {
    t.templates.sort((a, b) => b.score - a.score);
    t.prefixes.sort((a, b) => b.score - a.score);
  }
  const hostless = byHost.size === 0 && wildcards.length === 0;

  function match(method: string, host: string | undefined, path: string): Route<S> | undefined {
    if (!hostless && host !== undefined) {
      const name = hostName(host);
      const t = byHost.get(name);
      if (t !== undefined) {
        const hit = lookup(t, method, path);
        if (hit !== undefined) return hit;
      }
      for (let i = 0; i < wildcards.length; i++) {
        const w = wildcards[i]!;
        // `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
        if (name.length > w.suffix.length && name.endsWith(w.suffix)) {
          const hit = lookup(w.table, method, path);
          if (hit !== undefined) return hit;
        }
      }
    }
    return lookup(any, method, path);
  }
  return { match, routes };
}

function newTable<S>(): Table<S> {
  return { exact: new Map(), templates: [], prefixes: [] };
}

function lookup<S>(t: Table<S>, method: string, path: string): Route<S> | undefined {
  const exact = t.exact.get(path);
  if (exact !== undefined) {
    for (let i = 0; i < exact.length; i++) {
      const c = exact[i]!;
      if (c.methods === null || c.methods.has(method)) return c.route;
    }
  }
  const templates = t.templates;
  for (let i = 0; i < templates.length; i++) {
    const c = templates[i]!;
    if ((c.methods === null || c.methods.has(method)) && c.match!(path)) return c.route;
  }
  const prefixes = t.prefixes;
  for (let i = 0; i < prefixes.length; i++) {
    const c = prefixes[i]!;
    if ((c.methods === null || c.methods.has(method)) && underPrefix(path, c.path)) return c.route;
  }
  return undefined;
}

/** `/api` matches `/api`, `/api/x`, `/api?q` but not `/apix`: prefixes end on a segment boundary. */
function underPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 47;
}

/** Lower-cases and strips the port (RFC 9110 §7.2: Host = uri-host [ ":" port ]). */
export function hostName(host: string): string {
  if (host.charCodeAt(0) === 91) {
    const end = host.indexOf(']');
    return (end < 0 ? host : host.slice(0, end + 1)).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}
