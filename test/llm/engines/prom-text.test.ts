/** The Prometheus text parser: labels with escapes, special values, timestamps, bad lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromText } from '../../../src/llm/engines/prom-text.js';

test('parsePromText reads names, labels with escapes, timestamps and special values', () => {
  const p = parsePromText(
    [
      '# HELP a_total A counter.',
      '# TYPE a_total counter',
      'a_total{path="/x\\"y\\\\z",msg="l1\\nl2"} 3 1712345678000',
      'b:gauge 1.5e+03',
      'c{} NaN',
      'd{le="+Inf",} +Inf',
      '  e -Inf\r',
    ].join('\n'),
  );
  assert.deepEqual(p.samples.get('a_total'), [{ labels: { path: '/x"y\\z', msg: 'l1\nl2' }, value: 3 }]);
  assert.equal(p.samples.get('b:gauge')![0]!.value, 1500);
  assert.ok(Number.isNaN(p.samples.get('c')![0]!.value));
  assert.deepEqual(p.samples.get('d'), [{ labels: { le: '+Inf' }, value: Infinity }]);
  assert.equal(p.samples.get('e')![0]!.value, -Infinity);
  assert.equal(p.types.get('a_total'), 'counter');
  assert.equal(p.badLines, 0);
});

test('parsePromText skips and counts malformed lines, keeping the others', () => {
  const p = parsePromText('ok 1\nbad{x="unterminated} 2\n{nolabel} 3\nnovalue\nworse 1 2 3\nfine 4\n');
  assert.deepEqual([...p.samples.keys()], ['ok', 'fine']);
  assert.equal(p.badLines, 4);
});
