// Relative links in README.md, docs/*.md and the generated docs (as the generator writes them now)
// point at files that exist: docs/config-reference.md once linked a configuration.md that did not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedFiles } from '../scripts/generated-files.js';

function brokenLinks(file: string, text: string): string[] {
  const broken: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    const path = decodeURIComponent(target.split('#')[0]!);
    if (!existsSync(join(dirname(file), path))) broken.push(`${file}: ${target}`);
  }
  return broken;
}

test('relative links in README.md and docs/ resolve', () => {
  const files = [
    'README.md',
    ...readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  assert.deepEqual(
    files.flatMap((f) => brokenLinks(f, readFileSync(f, 'utf8'))),
    [],
  );
});

test('relative links in the generated docs resolve', () => {
  const docs = Object.entries(generatedFiles()).filter(([path]) => path.endsWith('.md'));
  assert.ok(docs.length > 0);
  assert.deepEqual(
    docs.flatMap(([path, text]) => brokenLinks(path, text)),
    [],
  );
});
