/** The content of every generated file, keyed by repository path. */
import { ConfigInputSchema, EXTENSION_KEY } from '../src/config/schema.js';
import { ERRORS } from '../src/core/errors.js';
import { AGGREGATIONS, SIGNALS } from '../src/signals/index.js';
import { observationJsonSchema, schemaKeys } from '../src/controller/observation-schema.js';
import { luacheckrc, luaMetaFile, LUARC } from './lua-meta.js';
import { configValidatorModule } from './config-validator.js';

export function generatedFiles(): Record<string, string> {
  return {
    'schema/luascale.schema.json': JSON.stringify(ConfigInputSchema, null, 2) + '\n',
    'src/config/config-validator.generated.ts': configValidatorModule(),
    'docs/config-reference.md': configReference(),
    'docs/errors.md': errorsReference(),
    'docs/signals.md': signalsReference(),
    'schema/observation.schema.json': JSON.stringify(observationJsonSchema(), null, 2) + '\n',
    'docs/eval-input.md': evalInputReference(),
    'templates/init/luascale.meta.lua': luaMetaFile(),
    'templates/init/.luarc.json': LUARC,
    'templates/init/.luacheckrc': luacheckrc(),
  };
}

function evalInputReference(): string {
  const rows = schemaKeys().map(([path, s]) => {
    const range =
      s.minimum !== undefined && s.maximum !== undefined
        ? `${s.minimum} – ${s.maximum}`
        : s.minimum !== undefined
          ? `≥ ${s.minimum}`
          : '';
    return `| \`${path}\` | ${s.type === 'integer' ? 'whole number' : s.type} | ${range} | ${s.description.replace(/\|/g, '\\|')} |`;
  });
  return `# The input of \`luascale eval\`

Generated from \`src/controller/observation-schema.ts\` (itself derived from the signal catalogue,
\`src/signals/catalog.ts\`) by \`npm run gen\`; published as
[\`schema/observation.schema.json\`](../schema/observation.schema.json). \`luascale eval --input\` and each
line of \`--steps\` take one JSON object with these keys. An unknown key (with the nearest known one:
\`cpu_usage: unknown key; did you mean "cpu"?\`), a value of the wrong type (\`"cpu": "85"\`) and counts
that cannot all be true (\`replicas\` ≠ \`ready\` + \`starting\`, \`ready\` > \`replicas\`, \`min\` > \`max\`) are
refused with one line naming the key; nothing is read as 0. Keys left out are 0 (\`fresh\`: true;
\`replicas\`: \`ready\` + \`starting\` when either is given, else 1; \`ready\`: \`replicas\` − \`starting\`).

| key | type | range | meaning |
|---|---|---|---|
${rows.join('\n')}
`;
}

function signalsReference(): string {
  const rows = SIGNALS.map(
    (s) =>
      `| \`${s.name}\` | ${s.unit} | ${s.meaning} | ${s.kind} | ${s.aggregate} | ${s.history ? 'yes' : 'no'} | ${'getter' in s ? `\`${s.getter}()\`` : ''} |`,
  );
  const aggregations = Object.entries(AGGREGATIONS).map(([k, v]) => `- \`${k}\`: ${v}.`);
  return `# Signals

Generated from \`src/signals/catalog.ts\` by \`npm run gen\`; a test keeps this file equal to the catalogue.
Every signal a policy reads, once: a Lua policy reads \`ctx.<name>\` (\`ctx.latency.p95\` for
\`latency.p95\`), and the name is the one \`ctx.history\`, \`ctx.forecast\`, \`get_metric\`, alert rules,
the built-ins' \`metric\` parameters and \`GET /v1/metrics/query\` take. \`load\` signals are measured by
the gateway and the instances over the \`scaling.window\`; \`fleet\` signals are counted by the
provider. History keeps one value per tick (one per second in \`luascale simulate\`).

| name | unit | meaning | kind | across workers and gateways | history | Lua helper |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Aggregations:

${aggregations.join('\n')}
`;
}

function errorsReference(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.message.replace(/\|/g, '\\|')} |`,
  );
  return `# Error codes

Generated from \`src/core/errors.ts\` by \`npm run gen\`; a test keeps this file equal to the registry.
Match on the code, never on the message. HTTP responses carry \`{ "error": { "code", "message" } }\`
with the status below.

| code | HTTP status | message template |
|---|---|---|
${rows.join('\n')}
`;
}

function configReference(): string {
  const rows: string[] = [];
  const walk = (s: any, path: string) => {
    if (!s || typeof s !== 'object') return;
    if (path) {
      const type = typeName(s);
      const dflt =
        s.default === undefined || typeof s.default === 'object' ? '' : `\`${JSON.stringify(s.default)}\``;
      rows.push(
        `| \`${path}\` | ${type} | ${dflt} | ${range(s)} | ${(s.description ?? '').replace(/\|/g, '\\|')} |`,
      );
    }
    if (s.properties)
      for (const [k, v] of Object.entries<any>(s.properties)) walk(v, path ? `${path}.${k}` : k);
    if (s.patternProperties)
      for (const [p, v] of Object.entries<any>(s.patternProperties))
        if (p !== EXTENSION_KEY) walk(v, `${path}.<name>`);
    if (s.type === 'array' && s.items?.properties)
      walk({ ...s.items, description: undefined, default: undefined }, `${path}[]`);
    if (s.anyOf)
      for (const b of s.anyOf)
        if (b.type === 'object')
          for (const [k, v] of Object.entries<any>(b.properties)) walk(v, `${path}.${k}`);
  };
  walk(ConfigInputSchema, '');
  return `# Configuration reference (\`luascale.yaml\`)

Generated from \`src/config/schema.ts\` by \`npm run gen\` (the same schema validates the file and is
published as \`schema/luascale.schema.json\` for editor completion). Durations are \`250ms\`, \`15s\`,
\`5m\`, \`1h\`, \`1d\`, compound such as \`1m30s\` or \`1h30m\`, or a number of seconds; each setting
takes the range shown (no duration exceeds \`24d\`: Node's timers stop at 24.8 days). \`\${VAR}\`
and \`\${VAR:-default}\` interpolate from the environment; a value that is one whole reference, quoted or
not, is typed by the key (\`max: "\${MAX}"\` is a number, \`env: { A: "\${A}" }\` stays a string).
Keys starting with \`x-\` are ignored anywhere (a place for YAML anchors, as in docker-compose), and
\`<<: *anchor\` merge keys work. \`luascale init\` writes a commented example
([templates/init/luascale.yaml](../templates/init/luascale.yaml)); [gateway.md](gateway.md),
[traffic.md](traffic.md) and [metric-sources.md](metric-sources.md) explain their sections by example.

| key | type | default | rule | meaning |
|---|---|---|---|---|
${rows.filter((r, i) => rows.indexOf(r) === i).join('\n')}
`;
}

/** The rule column: the range of a duration or a number, or what a pattern means. */
function range(s: any): string {
  const r = s['x-duration-range'];
  if (r) return `${r.min} – ${r.max}`;
  if (s.type === 'string' && s.patternErrorMessage) return s.patternErrorMessage.replace(/\|/g, '\\|');
  const lo = s.minimum ?? (s.exclusiveMinimum === undefined ? undefined : `> ${s.exclusiveMinimum}`);
  const hi = s.maximum;
  if (lo === undefined && hi === undefined) return '';
  const fmt = (n: number | string) => (typeof n === 'number' ? n.toLocaleString('en-US') : n);
  if (hi === undefined) return typeof lo === 'string' ? lo : `≥ ${fmt(lo)}`;
  if (lo === undefined) return `≤ ${fmt(hi)}`;
  return typeof lo === 'string' ? `${lo}, ≤ ${fmt(hi)}` : `${fmt(lo)} – ${fmt(hi)}`;
}

function typeName(s: any): string {
  if (s.anyOf) {
    const kinds = s.anyOf.map((b: any) =>
      b.type === 'object'
        ? Object.keys(b.properties ?? {}).join('/') || 'object'
        : b.const !== undefined
          ? JSON.stringify(b.const)
          : b.pattern === undefined
            ? b.type
            : b.type,
    );
    if (kinds.length === 2 && kinds.includes('string') && kinds.includes('number')) return 'duration';
    return kinds.join(' \\| ');
  }
  if (s.type === 'array') return `list of ${s.items?.type ?? 'item'}`;
  const names = Object.keys(s.patternProperties ?? {}).filter((p) => p !== EXTENSION_KEY);
  if (names.length > 0 || (s.type === 'object' && !s.properties)) return 'map';
  return s.type ?? 'any';
}
