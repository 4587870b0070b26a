import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generatedFiles } from '../scripts/generated-files.js';

for (const [path, expected] of Object.entries(generatedFiles())) {
  test(`${path} is up to date with its source (run npm run gen)`, () => {
    assert.equal(readFileSync(path, 'utf8'), expected);
  });
}
