import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ManualClock } from '../../../src/core/clock.js';
import { createSignals } from '../../../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../../../src/gateway/signals/event-loop-lag.js';
import { createPrometheus } from '../../../src/gateway/prometheus.js';
import { createAdmission } from '../../../src/gateway/admission/admission.js';
import { ManualScheduler } from '../../../src/gateway/admission/scheduler.js';

function setup(defaultMetrics = false) {
  const clock = new ManualClock(0);
  const signals = createSignals(clock, { eventLoop: createEventLoopLag({ read: () => 12, close() {} }) });
  const admission = createAdmission({ concurrency: { per_instance: 10, adaptive: true } }, clock, {
    scheduler: new ManualScheduler(),
  });
  admission.setReadyInstances(2);
  const prom = createPrometheus({
    signals,
    clock,
    admission: (s) => (s === 'api' ? admission.stats() : undefined),
    defaultMetrics,
  });
  for (let i = 0; i < 3; i++) {
    signals.onStart('/users/{id}', 'api');
    signals.onEnd({
      route: '/users/{id}',
      service: 'api',
      instance: 'i1',
      status: i === 2 ? 502 : 200,
      latencyMs: 3 + i * 100,
      bytesIn: 0,
      bytesOut: 10,
    });
  }
  signals.onStart('/users/{id}', 'api');
  signals.onShed('/users/{id}', 'api', 'rate_limit');
  signals.onQueue('api', 0, 40);
  return { clock, signals, prom };
}

/** The value of the first sample line starting with `prefix`. */
function value(text: string, prefix: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line, `no line starting with ${prefix}\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('requests, shed and duration are exposed with service and route template labels', async () => {
  const { prom } = setup();
  const text = await prom.renderMetrics();
  assert.equal(value(text, 'luascale_requests_total{service="api",route="/users/{id}",code_class="2xx"}'), 2);
  assert.equal(value(text, 'luascale_requests_total{service="api",route="/users/{id}",code_class="5xx"}'), 1);
  assert.equal(value(text, 'luascale_requests_offered_total{service="api",route="/users/{id}"}'), 4);
  assert.equal(value(text, 'luascale_shed_total{service="api",route="/users/{id}",reason="rate_limit"}'), 1);
  assert.equal(value(text, 'luascale_shed_total{service="api",route="/users/{id}",reason="queue_full"}'), 0);
  assert.equal(
    value(text, 'luascale_request_duration_seconds_bucket{service="api",route="/users/{id}",le="0.005"}'),
    1,
  );
  assert.equal(
    value(text, 'luascale_request_duration_seconds_bucket{service="api",route="/users/{id}",le="0.25"}'),
    3,
  );
  assert.equal(
    value(text, 'luascale_request_duration_seconds_bucket{service="api",route="/users/{id}",le="+Inf"}'),
    3,
  );
  assert.equal(value(text, 'luascale_request_duration_seconds_count{service="api",route="/users/{id}"}'), 3);
  assert.ok(
    Math.abs(
      value(text, 'luascale_request_duration_seconds_sum{service="api",route="/users/{id}"}') - 0.309,
    ) < 1e-9,
  );
  assert.match(text, /# TYPE luascale_request_duration_seconds histogram/);
});

test('admission figures: limit, headroom, adaptive limit, queue, event-loop lag', async () => {
  const { prom } = setup();
  const text = await prom.renderMetrics();
  assert.equal(value(text, 'luascale_concurrency_limit{service="api"}'), 3); // adaptive, measuring minRTT
  assert.equal(value(text, 'luascale_adaptive_concurrency_limit{service="api"}'), 3);
  assert.equal(value(text, 'luascale_concurrency_headroom{service="api"}'), 3);
  assert.equal(value(text, 'luascale_queue_depth{service="api"}'), 0);
  assert.equal(value(text, 'luascale_inflight_requests{service="api"}'), 0);
  assert.equal(value(text, 'luascale_queue_wait_seconds_count{service="api"}'), 1);
  assert.equal(value(text, 'luascale_event_loop_lag_seconds'), 0.012);
});

test('a raw path never becomes a label: only route templates appear', async () => {
  const { prom, signals } = setup();
  signals.onStart('/users/{id}', 'api');
  const text = await prom.renderMetrics();
  assert.doesNotMatch(text, /route="\/users\/\d+"/);
});

test('the exposition passes promtool check metrics', async (t) => {
  const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (which.error) {
    t.skip('promtool not installed (Debian package "prometheus"); exposition lint skipped');
    return;
  }
  const { prom } = setup(true);
  const text = await prom.renderMetrics();
  const res = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.status, 0, `promtool said:\n${res.stdout}${res.stderr}`);
});
