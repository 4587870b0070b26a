/**
 * Editor support for Lua policies, generated from the signal catalogue (`npm run gen`):
 * - `luascale.meta.lua`: LuaLS / EmmyLua annotations: `ctx` (an exact class, so a misspelled field
 *   is flagged), the metric names as an alias type for `get_metric` / `ctx.history` / `ctx.forecast`,
 *   the helpers as globals and what `decide` returns;
 * - `.luarc.json`: points lua-language-server at it (Lua 5.4, the sandbox's libraries only);
 * - `.luacheckrc`: the same globals for luacheck, which flags forgotten `local`s and unknown globals.
 * `luascale init` copies the three into a new project (templates/init/).
 */
import { SIGNALS, type SignalSpec } from '../src/signals/index.js';

/** The script helpers besides the catalogue's getters: name, LuaLS signature lines, one-line doc. */
const HELPERS: Array<{ name: string; doc: string; params: string[]; returns?: string }> = [
  {
    name: 'get_latency',
    doc: 'ctx.latency.p50 / p95 / p99 in ms; p is 50, 95 (default) or 99',
    params: ['p? 50|95|99'],
    returns: 'number',
  },
  {
    name: 'get_metric',
    doc: 'A catalogue signal or a custom metric (config `metrics`); with window_s, its mean over that many seconds of history',
    params: ['name luascale.Metric|string', 'window_s? number'],
    returns: 'number?',
  },
  {
    name: 'scale_up_instances',
    doc: 'Ask for n (default 1) more than the ready instances',
    params: ['n? number'],
  },
  {
    name: 'scale_down_instances',
    doc: 'Ask for n (default 1) fewer than the ready instances',
    params: ['n? number'],
  },
  {
    name: 'set_replicas',
    doc: 'Ask for n instances (resets earlier scale_up/down calls)',
    params: ['n number'],
  },
  {
    name: 'log',
    doc: "Adds a line to the Decision's logs (100 lines, 1000 characters each)",
    params: ['msg any'],
  },
  {
    name: 'alert',
    doc: "Raises an alert on the Decision's alerts",
    params: ['severity "info"|"warning"|"critical"', 'msg string'],
  },
];

/** Global names the sandbox defines for policies (the helpers, the catalogue's getters, `decide`). */
export function policyGlobals(): string[] {
  const getters = (SIGNALS as readonly SignalSpec[]).flatMap((s) => (s.getter ? [s.getter] : []));
  return [...getters, ...HELPERS.map((h) => h.name)];
}

function luaType(s: SignalSpec): string {
  return s.kind === 'fleet' ? 'integer' : 'number';
}

/** The LuaLS meta file. */
export function luaMetaFile(): string {
  const signals = SIGNALS as readonly SignalSpec[];
  const out: string[] = [
    '---@meta',
    '-- luascale policy API for lua-language-server (LuaLS) and other EmmyLua-aware editors.',
    '-- Generated from src/signals/catalog.ts by `npm run gen`; `luascale init` copies it. Do not edit.',
    '-- docs/policies.md explains the API; docs/signals.md the signals.',
    '',
    '---A signal name of the catalogue (docs/signals.md). A custom metric (config `metrics`) is any other',
    '---string: `get_metric` takes it; for `ctx.history` / `ctx.forecast` cast it: `---@cast name luascale.Metric`.',
    '---@alias luascale.Metric',
    ...signals.map((s) => `---| "${s.name}" # ${s.meaning} (${s.unit})`),
    '',
  ];
  // A group per path before the last dot (`llm`, `llm.ttft`); a group's subgroups are fields too.
  const groups = new Map<string, string[]>();
  const optional = (s: SignalSpec) => (s.optional ? '?' : '');
  const classOf = (path: string) =>
    `luascale.${path
      .split('.')
      .map((p) => p[0]!.toUpperCase() + p.slice(1))
      .join('')}`;
  for (const s of signals) {
    const parts = s.name.split('.');
    for (let d = 1; d < parts.length; d++) {
      const path = parts.slice(0, d).join('.');
      const fields = groups.get(path) ?? [];
      const field =
        d === parts.length - 1
          ? `---@field ${parts[d]} ${luaType(s)}${optional(s)} ${s.meaning} (${s.unit})`
          : `---@field ${parts[d]} ${classOf(parts.slice(0, d + 1).join('.'))}`;
      if (!fields.includes(field)) fields.push(field);
      groups.set(path, fields);
    }
  }
  const groupClass = classOf;
  for (const [path, fields] of groups) {
    out.push(`---@class (exact) ${groupClass(path)}`, ...fields, '');
  }
  const loadFields = (filter: (s: SignalSpec) => boolean) => {
    const lines: string[] = [];
    const seen = new Set<string>();
    for (const s of signals) {
      if (!filter(s)) continue;
      const dot = s.name.indexOf('.');
      if (dot < 0) lines.push(`---@field ${s.name} ${luaType(s)}${optional(s)} ${s.meaning} (${s.unit})`);
      else if (!seen.has(s.name.slice(0, dot))) {
        seen.add(s.name.slice(0, dot));
        lines.push(`---@field ${s.name.slice(0, dot)} ${groupClass(s.name.slice(0, dot))}`);
      }
    }
    return lines;
  };
  out.push(
    '---Service-level objectives (config `scaling.slo` or the OpenAPI document); unset ones are nil.',
    '---@class (exact) luascale.Slo',
    '---@field latency_p95_ms number?',
    '---@field latency_p99_ms number?',
    '---@field error_rate number? 0..1',
    '---@field availability number? 0..1',
    '',
    '---One OpenAPI operation: its load signals and SLO.',
    '---@class (exact) luascale.Operation',
    ...loadFields((s) => s.kind === 'load'),
    '---@field slo luascale.Slo',
    '',
    '---What a policy sees each tick. Read-only except `state`.',
    '---@class (exact) luascale.Ctx',
    ...loadFields(() => true),
    "---@field min integer The service's fewest instances",
    "---@field max integer The service's most instances",
    "---@field now integer The tick's time, epoch ms (the decision clock)",
    '---@field slo luascale.Slo',
    '---@field operations table<string, luascale.Operation> By OpenAPI operationId',
    "---@field params table<string, any> The service's `scaling.params`",
    '---@field service string',
    '---@field state table<string|integer, any> Kept between ticks (JSON-like values)',
    '---@field history fun(metric: luascale.Metric, seconds: number): number[] Values over the last `seconds`, oldest first, one per second',
    '---@field forecast fun(metric: luascale.Metric, horizon_s: number, window_s?: number, season_s?: number): number The metric `horizon_s` seconds ahead',
    '',
    '---What `decide` returns: a count, or a count with a reason.',
    '---@class luascale.Result',
    '---@field replicas number',
    '---@field reason string?',
    '',
    '---Module style: the policy. Define it as a global function, or return a table with a `decide` field.',
    '---@param ctx luascale.Ctx',
    '---@return number|luascale.Result',
    'function decide(ctx) end',
    '',
  );
  for (const s of signals) {
    if (!s.getter) continue;
    out.push(
      `---${s.meaning} (${s.unit}): ctx.${s.name}`,
      `---@return ${luaType(s)}`,
      `function ${s.getter}() end`,
      '',
    );
  }
  for (const h of HELPERS) {
    out.push(`---${h.doc}`);
    for (const p of h.params) out.push(`---@param ${p}`);
    if (h.returns) out.push(`---@return ${h.returns}`);
    out.push(
      `function ${h.name}(${h.params.map((p) => p.split(' ')[0]!.replace('?', '')).join(', ')}) end`,
      '',
    );
  }
  return out.join('\n');
}

/** lua-language-server settings: Lua 5.4, the meta file, no libraries the sandbox leaves out. */
export const LUARC =
  JSON.stringify(
    {
      $schema: 'https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json',
      'runtime.version': 'Lua 5.4',
      'runtime.builtin': { io: 'disable', debug: 'disable', package: 'disable' },
      'workspace.library': ['luascale.meta.lua'],
      'diagnostics.disable': ['lowercase-global'],
      'diagnostics.severity': {
        'undefined-field': 'Error',
        'param-type-mismatch': 'Error',
        'undefined-global': 'Error',
      },
    },
    null,
    2,
  ) + '\n';

/** luacheck settings: Lua 5.4, the sandbox's globals read-only, `decide` the one global a policy may set. */
export function luacheckrc(): string {
  return [
    '-- luacheck settings for luascale policies. Generated from src/signals/catalog.ts by `npm run gen`.',
    '-- A forgotten `local` (setting a global) and a misspelled helper are warnings.',
    'std = "lua54"',
    '-- The sandbox leaves these out (docs/policies.md, "The sandbox").',
    'not_globals = { "io", "debug", "package", "require", "load", "loadstring", "dofile", "loadfile" }',
    'globals = { "decide" }',
    `read_globals = { ${policyGlobals()
      .map((g) => `"${g}"`)
      .join(', ')}, "print" }`,
    'max_line_length = false',
    '',
  ].join('\n');
}
