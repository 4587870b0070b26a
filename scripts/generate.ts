/**
 * `npm run gen`: writes the files generated from the one schema and the one error registry.
 * test/generated.test.ts fails when any of them is out of date.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { generatedFiles } from './generated-files.js';

for (const [path, content] of Object.entries(generatedFiles())) {
  mkdirSync(path.replace(/\/[^/]+$/, ''), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
