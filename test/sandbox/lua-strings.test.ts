/** Strings read back from Lua (logs, reasons, state): exactly what UTF-8 decoding gives, before and after the wasm memory grows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import type { PolicyOutcome } from '../../src/policy/policy.js';
import { contextFor } from './sandbox-fixtures.js';

function ok(outcome: PolicyOutcome): Extract<PolicyOutcome, { ok: true }> {
  assert.ok(outcome.ok, `expected ok, got ${JSON.stringify(outcome)}`);
  return outcome;
}

// Lua source escapes (\xNN are raw bytes, \u{...} UTF-8) and the text JS must read for each.
const bytes = (...b: number[]) => new TextDecoder().decode(Uint8Array.from(b));
const CASES: Array<[lua: string, js: string]> = [
  ['', ''],
  ['plain ascii 0123 ~!@#', 'plain ascii 0123 ~!@#'],
  ['tab\\tnewline\\nnul\\0end', 'tab\tnewline\nnul\0end'],
  ['caf\\u{E9} 20\\u{20AC} \\u{1F680}', 'café 20€ 🚀'],
  // invalid UTF-8: a lone continuation byte, a truncated sequence, 0xFF
  ['a\\x80b\\xE2\\x82c\\xFFd', bytes(0x61, 0x80, 0x62, 0xe2, 0x82, 0x63, 0xff, 0x64)],
  // a lone latin1 byte must not come back as latin1
  ['\\xE9t\\xE9', bytes(0xe9, 0x74, 0xe9)],
];

const POLICY = `local ctx = ...
local cases = { ${CASES.map(([s]) => `"${s}"`).join(', ')} }
for i = 1, #cases do log(cases[i]) end
log(string.rep("x", 300) .. "\\u{E9}")
log(string.rep("y", 5000))
ctx.state.word = "na\\u{EF}ve"
return { replicas = 2, reason = "r\\u{E9}ason" }
`;

function expectStrings(out: Extract<PolicyOutcome, { ok: true }>): void {
  assert.deepEqual(
    out.logs.slice(0, CASES.length),
    CASES.map(([, js]) => js),
  );
  assert.equal(out.logs[CASES.length], 'x'.repeat(300) + 'é');
  assert.equal(out.logs[CASES.length + 1], 'y'.repeat(5000).slice(0, 1000)); // maxLogLength
  assert.equal(out.reason, 'réason');
  assert.deepEqual(out.state, { word: 'naïve' });
}

test('logs, reasons and state strings come back as UTF-8 decoding of their bytes', async () => {
  const policy = await loadLuaPolicy({ source: POLICY, chunkName: 'strings.lua' });
  expectStrings(ok(policy.evaluate(contextFor({ cpu: 50 }))));
  policy.close();
});

test('strings still read right after the wasm memory has grown', async () => {
  const policy = await loadLuaPolicy({ source: POLICY, chunkName: 'strings.lua' });
  expectStrings(ok(policy.evaluate(contextFor({ cpu: 50 })))); // the memory views exist now
  // All sandboxes of a thread share one wasm memory (16 MB at start): five that each hold 5 MB
  // make it grow, which detaches the buffer the earlier views were made on.
  const hogs = [];
  for (let i = 0; i < 5; i++) {
    const hog = await loadLuaPolicy({
      source: 'big = big or string.rep("z", 5 * 1024 * 1024)\nreturn 1',
      chunkName: `hog${i}.lua`,
      limits: { memoryBytes: 16 * 1024 * 1024 },
    });
    ok(hog.evaluate(contextFor({ cpu: 50 })));
    hogs.push(hog);
  }
  assert.ok(hogs.reduce((sum, h) => sum + h.memoryUsed(), 0) > 25 * 1024 * 1024);
  expectStrings(ok(policy.evaluate(contextFor({ cpu: 50 }))));
  for (const hog of hogs) hog.close();
  policy.close();
});
