/**
 * The Lua policy runs the same Policy contract as the built-ins (test/policy/policy-contract.ts):
 * every example policy, both styles, and policies that fail (a Lua error, a wrong return value, an
 * exhausted budget), whose outcomes must be stable error codes with one-line messages.
 */
import { readdirSync } from 'node:fs';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { policyContract } from '../policy/policy-contract.js';

for (const file of readdirSync('examples/policies').filter((f) => f.endsWith('.lua'))) {
  policyContract(`lua examples/policies/${file}`, () => loadLuaPolicy({ file: `examples/policies/${file}` }));
}

const failing: Record<string, string> = {
  'a runtime error': 'function decide(ctx)\n  error("boom")\nend\n',
  'a string instead of a count': 'function decide(ctx)\n  return { replicas = "many" }\nend\n',
  'an endless loop (instruction budget)': 'function decide(ctx)\n  while true do end\nend\n',
  'script style returning nothing': 'local x = get_replicas()\n',
};
for (const [what, source] of Object.entries(failing)) {
  policyContract(`lua policy with ${what}`, () =>
    loadLuaPolicy({ source, chunkName: 'policies/failing.lua', limits: { instructions: 100_000 } }),
  );
}
