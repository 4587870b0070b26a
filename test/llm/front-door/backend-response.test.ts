/**
 * BackendResponse pushes a stream's chunks as they come, except that chunks coming in the same
 * event-loop turn as an earlier one are pushed together in that turn's check phase (one tick, so
 * the client's writes of them go out as one), and always before the body's end or error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendResponse } from '../../../src/llm/front-door/backend-response.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A response past its head, streaming into `got`; `answer` is what the sink returns. */
async function streaming(answer = () => true) {
  const r = new BackendResponse();
  r.onConnect(() => {});
  r.onHeaders(200, [], () => {});
  await r.head;
  const got: string[] = [];
  const done = r.stream((c) => {
    got.push(c.toString());
    return answer();
  });
  return { r, got, done };
}

test('the first chunk of a turn is pushed at once; the ones after it in that turn, together at its check phase', async () => {
  const { r, got, done } = await streaming();
  await turn();
  r.onData(Buffer.from('a'));
  assert.deepEqual(got, ['a']);
  r.onData(Buffer.from('b'));
  r.onData(Buffer.from('c'));
  assert.deepEqual(got, ['a'], 'held until the check phase');
  await turn();
  assert.deepEqual(got, ['a', 'b', 'c']);
  r.onData(Buffer.from('d')); // a new turn: at once again
  assert.deepEqual(got, ['a', 'b', 'c', 'd']);
  r.onComplete();
  await done;
});

test('chunks held in a turn are pushed before the end and before an error, in order', async () => {
  const a = await streaming();
  await turn();
  a.r.onData(Buffer.from('1'));
  a.r.onData(Buffer.from('2'));
  a.r.onComplete();
  assert.deepEqual(a.got, ['1', '2']);
  await a.done;
  const b = await streaming();
  await turn();
  b.r.onData(Buffer.from('x'));
  b.r.onData(Buffer.from('y'));
  b.r.onError(new Error('cut'));
  assert.deepEqual(b.got, ['x', 'y']);
  await assert.rejects(b.done, /cut/);
});

test('a sink that asks for a pause (false) pauses the backend at the next chunk, until resume', async () => {
  let ok = false;
  const { r, got } = await streaming(() => ok);
  await turn();
  assert.equal(r.onData(Buffer.from('a')), false);
  assert.equal(r.onData(Buffer.from('b')), false); // held, and still paused
  r.resume();
  ok = true;
  await turn();
  assert.deepEqual(got, ['a', 'b']);
  assert.equal(r.onData(Buffer.from('c')), true);
  r.onComplete();
});
