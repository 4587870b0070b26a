/**
 * A failed certificate reload is an alert (issue 21: "a bad new file keeps the old certificate and
 * raises an alert"): `CertificateReloadFailed` fires once, however many bad reloads follow, and
 * resolves on the next good one; each notice goes to the app's notifiers (log, webhook).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertNotice } from '../../src/controller/alert-engine.js';
import { certReloadAlert } from '../../src/app/tls-http2-options.js';

test('certificate reloads: fires once on failure, resolves on the next good reload', () => {
  const notices: AlertNotice[] = [];
  const lines: string[] = [];
  const onReload = certReloadAlert('gateway', {
    baseDir: '.',
    log: (l) => lines.push(l),
    alert: (n) => notices.push(n),
  });
  onReload({ ok: true });
  assert.equal(notices.length, 0, 'a good reload with nothing firing says nothing');
  onReload({ ok: false, error: 'tls.crt: no certificate in the file' });
  onReload({ ok: false, error: 'tls.crt: no certificate in the file' });
  assert.equal(notices.length, 1);
  const [fired] = notices;
  assert.equal(fired!.status, 'firing');
  assert.equal(fired!.alert.name, 'CertificateReloadFailed');
  assert.equal(fired!.alert.service, 'gateway');
  assert.equal(fired!.alert.severity, 'critical');
  assert.match(fired!.alert.message, /previous ones stay: tls\.crt: no certificate/);
  assert.equal(lines.length, 1, 'the second failure is logged, not raised again');
  onReload({ ok: true });
  assert.equal(notices.length, 2);
  assert.equal(notices[1]!.status, 'resolved');
  assert.equal(typeof notices[1]!.alert.endsAt, 'number');
  onReload({ ok: false, error: 'again' });
  assert.equal(notices.length, 3, 'a new failure after the resolve fires again');
});

test('without notifiers, the log is the alert', () => {
  const lines: string[] = [];
  const onReload = certReloadAlert('admin', { baseDir: '.', log: (l) => lines.push(l) });
  onReload({ ok: false, error: 'key does not match' });
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /^alert firing: admin TLS certificates not reloaded, the previous ones stay: key does not match/,
  );
});
