/**
 * The layer checker behind test/architecture/layers.test.ts: parses the layer table of
 * docs/architecture.md ("## Layers": folder → the folders and files it may import) and lists every
 * import under src/ that the table forbids.
 *
 * Table grammar (the "may import" cell): `nothing`, `everything`, or a comma-separated list of
 * entries, each a backticked folder or file relative to src/ (`core`, `controller/provider.ts`),
 * optionally followed by `(types)`: then only type-only imports (`import type`, `export type`,
 * `import('…').T` in a type) may reach it. A folder may always import itself. A file belongs to
 * the row of the longest folder that contains it (`admin/dashboard/` before `admin/`).
 *
 * Imports read: static `import`, `import type`, `export … from`, `import x = require(…)`, dynamic
 * `import(…)` (a value) and `import('…')` types. Package and `node:` specifiers are not checked.
 * Test files in src/ (`*.test.ts`) follow their folder's row like any other file; they alone may
 * also import files outside src/ (test helpers), which production code may not.
 */
import ts from 'typescript';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One allowed target of a row: a folder or a file relative to src/, maybe types only. */
export interface LayerEntry {
  path: string;
  typesOnly: boolean;
}

/** A row of the layer table. */
export interface LayerRow {
  folder: string;
  /** `'everything'`, or the entries (empty: `nothing`). */
  mayImport: 'everything' | LayerEntry[];
}

/** One import found in a source file; paths are relative to the scanned root, `/`-separated. */
export interface FoundImport {
  from: string;
  /** Resolved target relative to the root (a `.js` specifier maps to its `.ts` file). */
  to: string;
  typeOnly: boolean;
  line: number;
}

const posix = (p: string): string => p.split(sep).join('/');

/** Parses the first table after `## Layers` whose header has `folder` and `may import`. */
export function parseLayerTable(markdown: string): LayerRow[] {
  const start = markdown.search(/^## Layers\s*$/m);
  if (start < 0) throw new Error('docs/architecture.md: no "## Layers" section');
  const section = markdown.slice(start).split(/^## (?!Layers)/m)[0]!;
  const lines = section.split('\n');
  const headerAt = lines.findIndex((l) => /^\|\s*folder\s*\|/.test(l) && /may import/.test(l));
  if (headerAt < 0) throw new Error('docs/architecture.md "## Layers": no table with a "may import" column');
  const header = cells(lines[headerAt]!);
  const col = header.findIndex((c) => c === 'may import');
  const rows: LayerRow[] = [];
  for (const line of lines.slice(headerAt + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    const folder = row[0]!.replace(/^`|`$/g, '').replace(/\/$/, '');
    rows.push({ folder, mayImport: parseEntries(folder, row[col] ?? '') });
  }
  if (rows.length === 0) throw new Error('docs/architecture.md "## Layers": the layer table has no rows');
  return rows;
}

function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split('|')
    .map((c) => c.trim());
}

function parseEntries(folder: string, cell: string): LayerRow['mayImport'] {
  if (cell === 'everything') return 'everything';
  if (cell === 'nothing') return [];
  return cell.split(',').map((item) => {
    const m = /^`([\w./-]+?)\/?`(\s*\(types\))?$/.exec(item.trim());
    if (!m) {
      throw new Error(
        `docs/architecture.md layer table, row ${folder}: cannot read "${item.trim()}" ` +
          '(expected `folder` or `folder/file.ts`, optionally followed by "(types)")',
      );
    }
    return { path: m[1]!, typesOnly: m[2] !== undefined };
  });
}

/** Every `.ts` file under `dir`, relative to `root`. */
function tsFiles(root: string, dir = root, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(root, p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(posix(relative(root, p)));
  }
  return out.sort();
}

/** Lists the relative imports of every `.ts` file under `srcRoot`. */
export function scanImports(srcRoot: string): FoundImport[] {
  const found: FoundImport[] = [];
  for (const file of tsFiles(srcRoot)) {
    const abs = join(srcRoot, file);
    const sf = ts.createSourceFile(abs, readFileSync(abs, 'utf8'), ts.ScriptTarget.Latest, true);
    const add = (spec: ts.Node | undefined, typeOnly: boolean): void => {
      if (!spec || !ts.isStringLiteralLike(spec) || !spec.text.startsWith('.')) return;
      const target = posix(relative(srcRoot, resolve(dirname(abs), spec.text))).replace(/\.js$/, '.ts');
      const line = sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1;
      found.push({ from: file, to: target, typeOnly, line });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node)) {
        add(node.moduleSpecifier, isTypeOnlyImport(node));
      } else if (ts.isExportDeclaration(node)) {
        const named =
          node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause : undefined;
        const allTypes = !!named && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
        add(node.moduleSpecifier, node.isTypeOnly || allTypes);
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
        add(node.moduleReference.expression, node.isTypeOnly);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        add(node.arguments[0], false);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
        add(node.argument.literal, true);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x.js'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    !!bindings &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

/** The row a path (relative to src/) belongs to: the longest folder containing it. */
export function rowOf(rows: readonly LayerRow[], path: string): LayerRow | undefined {
  let best: LayerRow | undefined;
  for (const r of rows) {
    if (path.startsWith(`${r.folder}/`) && (!best || r.folder.length > best.folder.length)) best = r;
  }
  return best;
}

const within = (path: string, entry: string): boolean => path === entry || path.startsWith(`${entry}/`);

function describe(row: LayerRow): string {
  if (row.mayImport === 'everything') return 'everything';
  if (row.mayImport.length === 0) return 'nothing';
  return row.mayImport.map((e) => `${e.path}${e.typesOnly ? ' (types)' : ''}`).join(', ');
}

/** One line per forbidden import (and per file in no row), in file order. */
export function checkLayers(
  rows: readonly LayerRow[],
  imports: readonly FoundImport[],
  allow: ReadonlyMap<string, string> = new Map(),
): string[] {
  const out: string[] = [];
  const unplaced = new Set<string>();
  for (const imp of imports) {
    const row = rowOf(rows, imp.from);
    if (!row) {
      if (!unplaced.has(imp.from)) out.push(`src/${imp.from} is in no row of the layer table`);
      unplaced.add(imp.from);
      continue;
    }
    const key = `src/${imp.from} -> src/${imp.to}`;
    if (allow.has(key)) continue;
    if (imp.to.startsWith('../')) {
      if (!imp.from.endsWith('.test.ts')) {
        out.push(
          `src/${imp.from}:${imp.line} imports ${imp.to.replace(/^(\.\.\/)+/, '')} (only test files in src/ may import outside src/)`,
        );
      }
      continue;
    }
    if (within(imp.to, row.folder) || row.mayImport === 'everything') continue;
    const entries = row.mayImport;
    if (entries.some((e) => within(imp.to, e.path) && (imp.typeOnly || !e.typesOnly))) continue;
    const typesOnlyHit = entries.some((e) => within(imp.to, e.path));
    out.push(
      `src/${imp.from} imports src/${imp.to}${typesOnlyHit ? ' as a value' : ''} ` +
        `(line ${imp.line}; ${row.folder} may import only: ${describe(row)})`,
    );
  }
  return out;
}

/**
 * Problems of the table itself: an entry naming no folder or file under src/, a folder under
 * src/ with no row, and a cycle among value imports (types-only entries and `everything` aside).
 */
export function checkTable(rows: readonly LayerRow[], srcRoot: string): string[] {
  const out: string[] = [];
  const exists = (p: string): boolean => {
    try {
      statSync(join(srcRoot, p));
      return true;
    } catch {
      return false;
    }
  };
  for (const r of rows) {
    if (!exists(r.folder)) out.push(`row ${r.folder}: no folder src/${r.folder}`);
    if (r.mayImport === 'everything') continue;
    for (const e of r.mayImport) if (!exists(e.path)) out.push(`row ${r.folder}: no src/${e.path}`);
  }
  for (const name of readdirSync(srcRoot)) {
    if (statSync(join(srcRoot, name)).isDirectory() && !rows.some((r) => r.folder === name)) {
      out.push(`src/${name}/ has no row in the layer table`);
    }
  }
  const edges = new Map<string, string[]>();
  for (const r of rows) {
    if (r.mayImport === 'everything') continue;
    const to = r.mayImport
      .filter((e) => !e.typesOnly)
      .map((e) => rowOf(rows, `${e.path}/`)?.folder ?? e.path);
    edges.set(r.folder, to);
  }
  const state = new Map<string, 'open' | 'done'>();
  const walk = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      out.push(`the table's value imports form a cycle: ${[...path.slice(path.indexOf(f)), f].join(' → ')}`);
      return;
    }
    state.set(f, 'open');
    for (const t of edges.get(f) ?? []) walk(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of edges.keys()) walk(f, []);
  return out;
}
