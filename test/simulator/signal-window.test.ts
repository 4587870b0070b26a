import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalWindow } from '../../src/simulator/signal-window.js';

const second = (offered: number, p95: number, dropped = 0) => ({
  offered,
  served: offered - dropped,
  dropped,
  cpu: offered / 2,
  inflight: offered / 10,
  p50: p95 / 2,
  p95,
  p99: p95 * 1.5,
});

test('the window averages the last `seconds` seconds, whatever the decision interval', () => {
  const w = new SignalWindow(2);
  w.push(second(100, 60));
  assert.equal(w.read().rps, 100); // only one second recorded so far
  w.push(second(300, 60));
  assert.equal(w.read().rps, 200);
  w.push(second(500, 60));
  const r = w.read();
  assert.equal(r.rps, 400);
  assert.equal(r.cpu, 200);
  assert.equal(r.inflight, 40);
});

test('a batch of identical seconds fills at most the window; drops and error rate come from the window', () => {
  const w = new SignalWindow(3);
  w.push(second(100, 60, 30));
  w.push(second(50, 50), 1000);
  const r = w.read();
  assert.equal(r.rps, 50);
  assert.equal(r.shed_rps, 0);
  const v = new SignalWindow(4);
  v.push(second(100, 60, 20));
  v.push(second(100, 60));
  assert.equal(v.read().shed_rps, 10);
  assert.equal(v.read().error_rate, 0.1);
});

test('window latency is request-weighted over the seconds in the window', () => {
  const w = new SignalWindow(2);
  w.push(second(10, 50));
  w.push(second(990, 900));
  assert.equal(w.read().latency.p95, 900);
  w.push(second(1000, 80));
  w.push(second(1000, 80));
  assert.equal(w.read().latency.p95, 80); // the slow second has left the window
});
