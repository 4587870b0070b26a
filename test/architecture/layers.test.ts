// The layer table in docs/architecture.md ("## Layers") is true of src/: no file imports a folder
// its row does not list (#15). The checker is in ./layer-check.ts; the fixture tests below show it
// reports what it should, so a green run on the real tree means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkLayers, checkTable, parseLayerTable, scanImports } from './layer-check.js';

/**
 * Imports the table forbids but that stay for now, each with its reason. Key:
 * `src/<from> -> src/<to>`. Empty: every violation #15 named is fixed. Add an entry only with an
 * issue number and a reason, and remove it with the fix.
 */
const ALLOWED = new Map<string, string>([]);

const doc = readFileSync('docs/architecture.md', 'utf8');

test('every import under src/ is one the layer table in docs/architecture.md allows', () => {
  const rows = parseLayerTable(doc);
  const violations = checkLayers(rows, scanImports('src'), ALLOWED);
  assert.deepEqual(violations, [], `forbidden imports:\n${violations.join('\n')}`);
});

test('the layer table names real folders, covers every folder under src/ and has no cycle', () => {
  assert.deepEqual(checkTable(parseLayerTable(doc), 'src'), []);
});

test('every allow-list entry is still needed (remove it once its import is gone)', () => {
  const rows = parseLayerTable(doc);
  const imports = scanImports('src');
  const stale = [...ALLOWED.keys()].filter((key) =>
    checkLayers(rows, imports).every(
      (v) => !v.startsWith(`${key.split(' -> ')[0]} imports ${key.split(' -> ')[1]}`),
    ),
  );
  assert.deepEqual(stale, []);
});

// ---- the test of the test: a small tree with known violations ----

const FIXTURE_DOC = `# Fixture

## Layers

| folder | what it holds | may import |
|---|---|---|
| \`core/\` | basics | nothing |
| \`low/\` | a low layer | \`core\` |
| \`mid/\` | consumer-side interfaces | \`core\`, \`low\` |
| \`impl/\` | implements mid's interface | \`core\`, \`mid/port.ts\` (types) |
| \`top/\` | wiring | everything |

## Next section

| folder | may import |
|---|---|
| \`ignored/\` | \`top\` |
`;

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'luascale-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('the checker reports each forbidden import kind with the row that forbids it', (t) => {
  const root = fixture({
    'core/clock.ts': 'export const now = () => 0;\n',
    'low/window.ts': [
      "import { now } from '../core/clock.js';", // allowed
      "import type { Port } from '../mid/port.js';", // upward, even as a type
      "export { wire } from '../top/wire.js';", // upward re-export
      'export const w = now;',
      'export type P = Port;',
    ].join('\n'),
    'mid/port.ts': "import { w } from '../low/window.js';\nexport interface Port { x: typeof w }\n",
    'mid/helper.ts': 'export const helper = 1;\n',
    'impl/thing.ts': [
      "import type { Port } from '../mid/port.js';", // allowed: types from the named file
      "import { helper } from '../mid/helper.js';", // not the named file
      "export const lazy = () => import('../mid/port.js');", // dynamic import: a value
      "export type Q = import('../mid/port.js').Port;", // import type node: allowed
      "import '../low/window.js';", // side-effect import of a folder not listed
      'export const t: Port | undefined = undefined; export const h = helper;',
    ].join('\n'),
    'impl/thing.test.ts': "import { h } from '../../test-helpers/h.js';\nexport const x = h;\n",
    'impl/not-a-test.ts': "import { h } from '../../test-helpers/h.js';\nexport const x = h;\n",
    'top/wire.ts': "import { helper } from '../mid/helper.js';\nexport const wire = helper;\n",
    'stray/file.ts': "import { now } from '../core/clock.js';\nexport const s = now;\n",
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const rows = parseLayerTable(FIXTURE_DOC);
  assert.deepEqual(
    rows.map((r) => r.folder),
    ['core', 'low', 'mid', 'impl', 'top'],
  );
  assert.deepEqual(checkLayers(rows, scanImports(root)), [
    'src/impl/not-a-test.ts:1 imports test-helpers/h.ts (only test files in src/ may import outside src/)',
    'src/impl/thing.ts imports src/mid/helper.ts (line 2; impl may import only: core, mid/port.ts (types))',
    'src/impl/thing.ts imports src/mid/port.ts as a value (line 3; impl may import only: core, mid/port.ts (types))',
    'src/impl/thing.ts imports src/low/window.ts (line 5; impl may import only: core, mid/port.ts (types))',
    'src/low/window.ts imports src/mid/port.ts (line 2; low may import only: core)',
    'src/low/window.ts imports src/top/wire.ts (line 3; low may import only: core)',
    'src/stray/file.ts is in no row of the layer table',
  ]);
  assert.deepEqual(checkTable(rows, root), ['src/stray/ has no row in the layer table']);
});

test('an allow-list entry silences exactly its import', (t) => {
  const root = fixture({
    'core/a.ts':
      "import { b } from '../low/b.js';\nimport { c } from '../low/c.js';\nexport const a = b + c;\n",
    'low/b.ts': 'export const b = 1;\n',
    'low/c.ts': 'export const c = 1;\n',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const rows = parseLayerTable(FIXTURE_DOC);
  assert.deepEqual(
    checkLayers(rows, scanImports(root), new Map([['src/core/a.ts -> src/low/b.ts', '#15: test']])),
    ['src/core/a.ts imports src/low/c.ts (line 2; core may import only: nothing)'],
  );
});

test('the table check finds a cycle among value imports and a misspelt entry', (t) => {
  const root = fixture({ 'a/x.ts': '', 'b/y.ts': '' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const rows = parseLayerTable(
    '## Layers\n\n| folder | may import |\n|---|---|\n| `a/` | `b` |\n| `b/` | `a`, `cor` |\n',
  );
  assert.deepEqual(checkTable(rows, root), [
    'row b: no src/cor',
    "the table's value imports form a cycle: a → b → a",
  ]);
});

test('a row the checker cannot read fails with the row and the entry', () => {
  assert.throws(
    () => parseLayerTable('## Layers\n\n| folder | may import |\n|---|---|\n| `a/` | core and metrics |\n'),
    /row a: cannot read "core and metrics"/,
  );
});
