// Relative links in README.md, docs/**/*.md and the generated docs (as the generator writes them now)
// point at files that exist, and a `#anchor` (in the same page or another Markdown page) at a
// heading or an explicit <a id>/<a name> there: docs/config-reference.md once linked a
// configuration.md that did not exist (issue 16 item 9).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { generatedFiles } from '../scripts/generated-files.js';

/** GitHub's heading ids (github-slugger): lowercase, punctuation dropped, spaces to '-', -1/-2 for repeats. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(markdown).split('\n')) {
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = h[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
      .replace(/<[^>]+>/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Fenced code blocks and inline code hold examples, not links. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^ {0,3}(```|~~~)[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm, '');
}

/** Broken relative links of one Markdown file; `read` gives another page's text (for its anchors). */
function brokenLinks(file: string, text: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  const body = withoutCode(text).replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...body.matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!),
    ...[...body.matchAll(/^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
  ];
  for (const target of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
    const hash = target.indexOf('#');
    const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const fragment = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = path === '' ? file : normalize(join(dirname(file), path));
    const page = path === '' ? text : read(resolved);
    if (page === undefined) {
      broken.push(`${file}: ${target} (no such file)`);
      continue;
    }
    if (fragment && resolved.endsWith('.md') && !anchors(page).has(fragment))
      broken.push(`${file}: ${target} (no such heading)`);
  }
  return broken;
}

/** README.md and every .md under docs/, recursively. */
function pages(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : f.endsWith('.md') ? [p] : [];
    });
  return ['README.md', ...walk('docs')];
}

function readFromDisk(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return statSync(path).isDirectory() ? '' : readFileSync(path, 'utf8');
}

test('relative links and anchors in README.md and docs/**/*.md resolve', () => {
  const files = pages();
  assert.ok(files.length > 10);
  assert.deepEqual(
    files.flatMap((f) => brokenLinks(f, readFileSync(f, 'utf8'), readFromDisk)),
    [],
  );
});

test('relative links and anchors in the generated docs resolve', () => {
  const generated = generatedFiles();
  const docs = Object.entries(generated).filter(([path]) => path.endsWith('.md'));
  assert.ok(docs.length > 0);
  // A generated page is checked as the generator writes it, and so are links between them.
  const read = (path: string) => generated[path] ?? readFromDisk(path);
  assert.deepEqual(
    docs.flatMap(([path, text]) => brokenLinks(path, text, read)),
    [],
  );
});

test('the checker itself: a missing file, a missing heading and code examples', () => {
  const pagesByPath: Record<string, string> = {
    'docs/b.md':
      '# Title\n\n## Graceful shutdown and `workers`\n\n## Repeat\n\n## Repeat\n<a id="custom"></a>\n',
  };
  const read = (p: string) => pagesByPath[p];
  const text = [
    '# A page',
    '## Local heading',
    '[ok](b.md) [ok](b.md#graceful-shutdown-and-workers) [ok](b.md#repeat-1) [ok](b.md#custom)',
    '[ok](#local-heading) [ok](https://example.com/x.md) [ok](mailto:x@example.com)',
    '[bad](gone.md) [bad](b.md#nope) [bad](#nowhere)',
    '[ref]: ./missing.md',
    '`[not a link](x.md)`',
    '```',
    '[not a link](y.md)',
    '```',
  ].join('\n');
  assert.deepEqual(brokenLinks('docs/a.md', text, read), [
    'docs/a.md: gone.md (no such file)',
    'docs/a.md: b.md#nope (no such heading)',
    'docs/a.md: #nowhere (no such heading)',
    'docs/a.md: ./missing.md (no such file)',
  ]);
});
