/**
 * The request pipeline: stages composed in order over one exchange, `leave` once per entered stage,
 * retries re-entering at the pick stage, and a new stage added without touching the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { DEFAULT_STAGES } from '../../src/gateway/gateway.js';
import { compose, type Stage } from '../../src/gateway/pipeline/compose.js';
import type { Exchange } from '../../src/gateway/pipeline/exchange.js';
import type { AccessLogEntry, SignalsLike } from '../../src/gateway/seams.js';
import { echo, request, startGateway, startUpstream } from './helpers.js';

/** The default stages with `stage` inserted before the one named `before`. */
function withStage(stage: Stage, before: string): Stage[] {
  const list = [...DEFAULT_STAGES];
  list.splice(
    list.findIndex((s) => s.name === before),
    0,
    stage,
  );
  return list;
}

/** A stage that only counts: how often it was entered and left. */
function counter(name: string): Stage & { entered: number; left: number } {
  const s = {
    name,
    entered: 0,
    left: 0,
    enter(ex: Exchange) {
      s.entered++;
      ex.next();
    },
    leave() {
      s.left++;
    },
  };
  return s;
}

test('the default pipeline runs route, authenticate, validate, record, admit, pick, forward in that order', () => {
  assert.deepEqual(
    DEFAULT_STAGES.map((s) => s.name),
    ['route', 'authenticate', 'validate', 'record', 'admit', 'pick', 'forward'],
  );
});

test('compose rejects two stages with one name', () => {
  assert.throws(() => compose([...DEFAULT_STAGES, counter('admit')]), /stage "admit" appears twice/);
  assert.equal(compose(DEFAULT_STAGES).indexOf('pick'), 5);
  assert.equal(compose(DEFAULT_STAGES).indexOf('nope'), -1);
});

test('a stage added before admit can answer on its own; the record stage still logs and sheds it', async () => {
  const up = await startUpstream(echo());
  let upstreamHits = 0;
  up.server.on('request', () => upstreamHits++);
  const shed: string[] = [];
  const logs: AccessLogEntry[] = [];
  const signals: SignalsLike = {
    onStart: () => {},
    onEnd: () => {},
    onShed: (route, _service, reason) => shed.push(`${route} ${reason}`),
  };
  // What a stage such as `authenticate` looks like: it reads the exchange, and either passes it on
  // or answers (named apart from the default pipeline's own authenticate stage).
  const authenticate: Stage = {
    name: 'example-auth',
    enter(ex) {
      if (ex.req.headers['x-api-key'] === 'k1') return ex.next();
      ex.shedReason = 'unauthenticated';
      ex.reply('LS_ERR_GATEWAY_BAD_REQUEST', { reason: 'missing or unknown API key' });
      ex.finish();
    },
  };
  const { gw, port } = await startGateway({
    signals,
    accessLog: { log: (e) => logs.push(e) },
    stages: withStage(authenticate, 'admit'),
    services: { api: { routes: [{ path_prefix: '/' }], instances: [{ id: 'u1', url: up.url }] } },
  });
  try {
    const denied = await request(port, { path: '/a' });
    assert.equal(denied.status, 400);
    assert.match(JSON.parse(denied.body).error.message, /API key/);
    assert.equal(upstreamHits, 0);
    assert.deepEqual(shed, ['/* unauthenticated']);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.status, 400);

    const ok = await request(port, { path: '/a', headers: { 'x-api-key': 'k1' } });
    assert.equal(ok.status, 200);
    assert.equal(upstreamHits, 1);
    assert.equal(logs.length, 2);
  } finally {
    await gw.close({ graceMs: 50 });
    await up.close();
  }
});

test('leave runs once per entered stage; a request refused earlier never enters later stages', async () => {
  const up = await startUpstream(echo());
  const meter = counter('meter');
  const { gw, port } = await startGateway({
    stages: withStage(meter, 'pick'),
    services: {
      api: {
        routes: [{ path: '/ok' }],
        traffic: { rate_limit: { rps: 1, burst: 1, key: 'global' } },
        instances: [{ id: 'u1', url: up.url }],
      },
    },
  });
  try {
    assert.equal((await request(port, { path: '/ok' })).status, 200);
    assert.equal((await request(port, { path: '/missing' })).status, 404); // refused by route
    assert.equal((await request(port, { path: '/ok' })).status, 429); // refused by admit
    assert.deepEqual({ entered: meter.entered, left: meter.left }, { entered: 1, left: 1 });
  } finally {
    await gw.close({ graceMs: 50 });
    await up.close();
  }
});

test('a retry re-enters the pipeline at pick: stages before it run once, stages after it once per attempt', async () => {
  const up = await startUpstream(echo());
  // A port that refuses connections: the first attempt on it fails before any byte and is retried.
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const beforePick = counter('before-pick');
  const afterPick = counter('after-pick');
  const attempts: number[] = [];
  const stages = withStage(beforePick, 'pick');
  stages.splice(stages.length - 1, 0, afterPick);
  stages.push({ name: 'attempts', enter: () => {}, leave: (ex) => void attempts.push(ex.attempts) });
  // `attempts` sits after forward, which never calls next(): it is never entered, so never left.
  const { gw, port } = await startGateway({
    stages,
    services: {
      api: {
        routes: [{ path_prefix: '/' }],
        balancer: { algorithm: 'round-robin' },
        traffic: { retries: { budget_percent: 100 } },
        instances: [
          { id: 'dead', url: `http://127.0.0.1:${deadPort}` },
          { id: 'live', url: up.url },
        ],
      },
    },
  });
  try {
    for (let i = 0; i < 4; i++) assert.equal((await request(port, { path: '/r' })).status, 200);
    assert.equal(beforePick.entered, 4);
    assert.equal(beforePick.left, 4);
    assert.ok(afterPick.entered > 4, `expected at least one retry, got ${afterPick.entered} attempts`);
    assert.equal(afterPick.left, 4);
    assert.deepEqual(attempts, []);
  } finally {
    await gw.close({ graceMs: 50 });
    await up.close();
  }
});
