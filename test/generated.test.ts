import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generatedFiles } from '../scripts/generated-files.js';
import { configValidatorModule } from '../scripts/config-validator.js';
import { ConfigInputSchema } from '../src/config/schema.js';
import { validate as committedValidate } from '../src/config/config-validator.generated.js';

const files = generatedFiles();
for (const [path, expected] of Object.entries(files)) {
  test(`${path} is up to date with its source (run npm run gen)`, () => {
    assert.equal(readFileSync(path, 'utf8'), expected);
  });
}

const VALIDATOR = 'src/config/config-validator.generated.ts';

/** Imports generated validator source from a temporary file (its imports made absolute). */
async function importValidator(source: string): Promise<(data: unknown) => boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'luascale-validator-'));
  try {
    const file = join(dir, 'validator.mjs');
    const absolute = source.replace(/from '([^']+)'/g, (_m, spec: string) =>
      spec.startsWith('./')
        ? `from '${new URL(spec, pathToFileURL(`${process.cwd()}/${VALIDATOR}`)).href}'`
        : `from '${import.meta.resolve(spec)}'`,
    );
    writeFileSync(file, absolute);
    return (await import(pathToFileURL(file).href)).validate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a generated config validator older than the schema is caught, and it is the schema that validates', async () => {
  assert.ok(VALIDATOR in files, `${VALIDATOR} is not among the generated files`);
  const services = { web: { provider: { static: { targets: ['http://127.0.0.1:1'] } } } };
  const config = (workers: number) => ({ gateway: { workers }, services });
  // The committed validator applies the schema's rules: gateway.workers is at most 64.
  assert.equal(committedValidate(config(64)), true);
  assert.equal(committedValidate(config(65)), false);
  // A validator generated from a schema with another bound (as a stale one would be) validates by
  // that schema, and its text differs from the expected module, so the check above fails on it.
  const schema = structuredClone(ConfigInputSchema) as any;
  schema.properties.gateway.properties.workers.maximum = 65;
  const stale = configValidatorModule(schema);
  assert.notEqual(stale, files[VALIDATOR]);
  assert.equal((await importValidator(stale))(config(65)), true);
  assert.equal((await importValidator(files[VALIDATOR]!))(config(65)), false);
});
