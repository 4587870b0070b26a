import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJsonPath, parseJsonPath, selectNumber } from '../../src/sources/json-path.js';

test('parses the documented subset', () => {
  assert.deepEqual(parseJsonPath('$.queue.depth'), [{ key: 'queue' }, { key: 'depth' }]);
  assert.deepEqual(parseJsonPath('data.items[0].value'), [
    { key: 'data' },
    { key: 'items' },
    { index: 0 },
    { key: 'value' },
  ]);
  assert.deepEqual(parseJsonPath('$["a.b"][\'c d\'][12]'), [{ key: 'a.b' }, { key: 'c d' }, { index: 12 }]);
  assert.deepEqual(parseJsonPath('[1]'), [{ index: 1 }]);
  assert.deepEqual(parseJsonPath('$'), []);
  assert.equal(formatJsonPath(parseJsonPath('data.items[0]["x y"]')), '$.data.items[0]["x y"]');
});

test('rejects what it does not support, naming the column', () => {
  assert.throws(() => parseJsonPath('$.items[*]'), /column 8: expected \[digits\]/);
  assert.throws(() => parseJsonPath('$..depth'), /column 3: expected a member name/);
  assert.throws(() => parseJsonPath('a[-1]'), /column 2/);
  assert.throws(() => parseJsonPath(''), /empty/);
  assert.throws(() => parseJsonPath('$ .a'), /column 2: unexpected " "/);
  assert.throws(() => parseJsonPath('$.a[0'), /column 4/);
});

test('selects a number, or says which step failed', () => {
  const doc = { queue: { depth: 7 }, data: { items: [{ value: '12.5' }, { value: true }] }, n: null };
  assert.equal(selectNumber(doc, parseJsonPath('$.queue.depth')), 7);
  assert.equal(selectNumber(doc, parseJsonPath('data.items[0].value')), 12.5);
  assert.equal(selectNumber(42, parseJsonPath('$')), 42);
  assert.throws(
    () => selectNumber(doc, parseJsonPath('data.items[1].value')),
    /\$\.data\.items\[1\]\.value: expected a number, found boolean true/,
  );
  assert.throws(
    () => selectNumber(doc, parseJsonPath('data.items[5]')),
    /\$\.data\.items\[5\]: index out of range \(array has 2 elements\)/,
  );
  assert.throws(() => selectNumber(doc, parseJsonPath('queue.size')), /\$\.queue\.size: no such member/);
  assert.throws(
    () => selectNumber(doc, parseJsonPath('queue[0]')),
    /\$\.queue\[0\]: expected an array, found an object/,
  );
  assert.throws(() => selectNumber(doc, parseJsonPath('n.x')), /\$\.n\.x: expected an object, found null/);
  assert.throws(() => selectNumber(doc, parseJsonPath('queue')), /expected a number, found an object/);
  assert.throws(() => selectNumber({ v: 'twelve' }, parseJsonPath('v')), /found the string "twelve"/);
  // Inherited members are not data.
  assert.throws(() => selectNumber({}, parseJsonPath('constructor')), /no such member/);
});
