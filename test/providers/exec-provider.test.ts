import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/load-config.js';
import { ExecProvider, type ExecProviderOptions } from '../../src/providers/exec-provider.js';
import { execOptionsFromConfig } from '../../src/app/provider-options.js';
import { formatCommand, parseTargets, runCommand } from '../../src/providers/exec-command.js';
import { isAlive } from '../../src/providers/proc-stat.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { nextEvent, providerContract } from './provider-contract.js';
import { demoServer } from './fixtures/demo.js';

const scripts = fileURLToPath(new URL('./fixtures/exec/', import.meta.url));
const scaleSh = join(scripts, 'scale.sh');
const listSh = join(scripts, 'list.sh');
const root = mkdtempSync(join(tmpdir(), 'luascale-exec-'));
const states: string[] = [];
const providers: ExecProvider[] = [];

/** Kills every demo backend a test's scale.sh started (they run in their own sessions). */
function killBackends(state: string): void {
  const file = join(state, 'pids');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const pid = Number(line);
    if (pid > 0 && isOurBackend(pid, state))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
  }
}

/** Guards against pid reuse: only a demo backend started with this STATE is killed. */
function isOurBackend(pid: number, state: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`STATE=${state}`);
  } catch {
    return false;
  }
}

after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  for (const s of states) killBackends(s);
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function stateDir(): string {
  const dir = join(root, `state-${n++}`);
  mkdirSync(dir);
  states.push(dir);
  return dir;
}

function make(
  options: Partial<ExecProviderOptions> = {},
  state = stateDir(),
): { p: ExecProvider; state: string } {
  const p = new ExecProvider({
    service: 'demo',
    scaleCommand: [scaleSh],
    listCommand: [listSh],
    env: { STATE: state, NODE: process.execPath, DEMO: demoServer },
    timeoutMs: 10_000,
    pollIntervalMs: 50,
    stopTimeoutMs: 10_000,
    ...options,
  });
  providers.push(p);
  return { p, state };
}

/** Writes an executable shell script into the temp dir. */
function script(name: string, body: string): string {
  const file = join(root, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

async function launchReady(p: ExecProvider) {
  const ready = nextEvent(p, 'ready', () => true, 10_000);
  const launched = await p.launch();
  const [instance] = await ready;
  assert.equal(instance.id, launched.id);
  return instance;
}

providerContract(
  'exec (scale.sh + list.sh running demo backends)',
  async () => {
    const { p, state } = make();
    await p.whenSynced();
    return {
      provider: p,
      async cleanup() {
        await p.close();
        killBackends(state);
      },
    };
  },
  { eventTimeoutMs: 10_000 },
);

describe('ExecProvider with real scripts', () => {
  it('launch() runs scale_command with the count; the new target serves and is listed ready', async () => {
    const { p, state } = make();
    await p.whenSynced();
    const a = await launchReady(p);
    const b = await launchReady(p);
    assert.equal(readFileSync(join(state, 'backends'), 'utf8').trim().split('\n').length, 2);
    for (const i of [a, b]) {
      const res = await request(`${i.url}/healthz`, { reset: true });
      assert.equal(res.statusCode, 200);
      await res.body.text();
    }
    assert.equal(p.targetOf(a.id), 'backend-0');
    assert.equal(p.targetOf(b.id), 'backend-1');
    await p.close();
  });

  it('stop(id) names the drained target in LUASCALE_STOP_TARGET and the script removes exactly that one', async () => {
    const drained: string[] = [];
    const { p, state } = make({ drainHook: async (i) => void drained.push(`${i.id}:${i.state}`) });
    await p.whenSynced();
    const a = await launchReady(p);
    const b = await launchReady(p);
    const pidOf = (id: string) =>
      Number(
        readFileSync(join(state, 'backends'), 'utf8')
          .split('\n')
          .find((l) => l.startsWith(`${id} `))!
          .split(' ')[1],
      );
    const pidA = pidOf('backend-0');
    await p.drain(a.id);
    assert.equal(p.list().find((i) => i.id === a.id)?.state, 'draining');
    await p.stop(a.id);
    assert.deepEqual(drained, [`${a.id}:draining`], 'the gateway drain hook ran once, before the scale-down');
    assert.deepEqual(
      p.list().map((i) => i.id),
      [b.id],
    );
    assert.ok(!readFileSync(join(state, 'backends'), 'utf8').includes('backend-0 '));
    assert.ok(!isAlive(pidA) || (await exitOf(pidA)), 'the stopped backend process is gone');
    await p.close();
  });

  it('targets already running are adopted; ready:false is starting until it turns true', async () => {
    const state = stateDir();
    const first = make({}, state).p;
    await first.whenSynced();
    await launchReady(first);
    await first.close();
    writeFileSync(join(state, 'backend-0.unready'), '');
    const { p } = make({}, state);
    await p.whenSynced();
    const [i] = p.list();
    assert.equal(i?.adopted, true);
    assert.equal(i?.state, 'starting');
    const ready = nextEvent(p, 'ready', (x) => x.id === i!.id, 10_000);
    rmSync(join(state, 'backend-0.unready'));
    await ready;
    await p.close();
  });

  it('a ready target that reports ready:false emits unready, then ready when it recovers', async () => {
    const state = stateDir();
    const { p } = make({}, state);
    await p.whenSynced();
    const inst = await launchReady(p);
    const lost = nextEvent(p, 'unready', (x) => x.id === inst.id, 10_000);
    writeFileSync(join(state, 'backend-0.unready'), '');
    await p.poll();
    const [unready] = await lost;
    assert.equal(unready.state, 'starting');
    const back = nextEvent(p, 'ready', (x) => x.id === inst.id, 10_000);
    rmSync(join(state, 'backend-0.unready'));
    await p.poll();
    await back;
    assert.equal(p.list()[0]?.state, 'ready');
    await p.close();
  });

  it('a failing scale_command rejects with an error naming the command, its exit code and stderr tail', async () => {
    const fail = script(
      'fail-scale.sh',
      'echo "starting scale" >&2\necho "ERROR: quota exceeded for instances in us-east-1" >&2\nexit 7',
    );
    const { p } = make({ scaleCommand: [fail, '--group', 'web'] });
    await p.whenSynced();
    await assert.rejects(p.launch(), (err) => {
      assert.ok(isLuascaleError(err, 'LS_ERR_PROVIDER_COMMAND'));
      assert.match(err.message, /fail-scale\.sh --group web 1` exited with code 7/);
      assert.match(err.message, /quota exceeded for instances in us-east-1/);
      return true;
    });
    assert.deepEqual(p.list(), [], 'the placeholder is withdrawn');
    await p.close();
  });

  it('a hanging command is killed with its whole process group after the timeout', async () => {
    const pidFile = join(root, 'hang.pid');
    const hang = script('hang.sh', `sleep 30 &\necho $! > ${pidFile}\nwait`);
    const started = Date.now();
    await assert.rejects(runCommand([hang], { service: 'demo', timeoutMs: 300 }), (err) => {
      assert.ok(isLuascaleError(err, 'LS_ERR_PROVIDER_TIMEOUT'));
      assert.match(err.message, /hang\.sh` did not finish within 300 ms and was killed/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    const sleepPid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(await exitOf(sleepPid), 'the grandchild `sleep` was killed too');
  });

  it('a list_command that prints bad JSON fails the sync with LS_ERR_PROVIDER_OUTPUT; polls keep the last good list', async () => {
    const bad = script('bad-list.sh', `echo '[{"id": "a", "url": '`);
    const { p } = make({ listCommand: [bad] });
    await assert.rejects(p.whenSynced(), (err) => {
      assert.ok(isLuascaleError(err, 'LS_ERR_PROVIDER_OUTPUT'));
      assert.match(err.message, /bad-list\.sh` printed bad output: not JSON/);
      return true;
    });
    await p.close();

    const flag = join(root, 'broken');
    const flaky = script(
      'flaky-list.sh',
      `if [ -e ${flag} ]; then echo oops; else echo '[{"id":"x","url":"http://127.0.0.1:9"}]'; fi`,
    );
    const errors: unknown[] = [];
    const q = make({ listCommand: [flaky], onError: (e) => errors.push(e) }).p;
    await q.whenSynced();
    assert.equal(q.list().length, 1);
    writeFileSync(flag, '');
    await assert.rejects(q.poll(), (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_OUTPUT'));
    assert.equal(q.list().length, 1, 'the last known targets are kept');
    await q.close();
  });

  it('a command that does not exist fails with a clear message', async () => {
    await assert.rejects(
      runCommand(['/nonexistent/luascale-scale'], { service: 'demo', timeoutMs: 1000 }),
      (err) =>
        isLuascaleError(err, 'LS_ERR_PROVIDER_COMMAND') &&
        /`\/nonexistent\/luascale-scale` could not start: ENOENT/.test(err.message),
    );
  });
});

describe('parseTargets', () => {
  const where = { service: 's', command: 'list' };
  const cases: Array<[string, RegExp]> = [
    ['', /not JSON .* got: \(nothing\)/],
    ['{"id":"a"}', /expected a JSON array/],
    ['[1]', /item 0: expected an object/],
    ['[{"url":"http://a"}]', /item 0: "id" must be a non-empty string/],
    ['[{"id":"a","url":"ftp://a"}]', /"url" must be an http\(s\) URL/],
    ['[{"id":"a","url":"http://a"},{"id":"a","url":"http://b"}]', /duplicate id "a"/],
    ['[{"id":"a","url":"http://a","ready":"yes"}]', /"ready" must be a boolean/],
  ];
  for (const [input, expected] of cases)
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseTargets(input, where),
        (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_OUTPUT') && expected.test(err.message),
      );
    });

  it('accepts targets, defaulting ready to true and normalising the URL to its origin', () => {
    assert.deepEqual(
      parseTargets(
        '[{"id":"a","url":"http://10.0.0.1:80/"},{"id":"b","url":"https://b.example:8443","ready":false}]',
        where,
      ),
      [
        { id: 'a', url: 'http://10.0.0.1', ready: true },
        { id: 'b', url: 'https://b.example:8443', ready: false },
      ],
    );
  });

  it('formatCommand quotes arguments a shell would split', () => {
    assert.equal(
      formatCommand(['nomad', 'job', 'scale', 'web group', "it's", '3']),
      `nomad job scale 'web group' 'it'\\''s' 3`,
    );
  });
});

describe('deploy/exec examples', () => {
  const deploy = fileURLToPath(new URL('../../deploy/exec/', import.meta.url));

  it('luascale.yaml there passes the config schema and maps onto ExecProvider options', () => {
    const cfg = parseConfig(
      readFileSync(join(deploy, 'luascale.yaml'), 'utf8'),
      'deploy/exec/luascale.yaml',
      {},
    );
    assert.deepEqual(
      execOptionsFromConfig('web', (cfg.services.web!.provider as { exec: never }).exec, '/srv/app'),
      {
        service: 'web',
        scaleCommand: ['deploy/exec/nomad-scale.sh', 'web', 'app'],
        listCommand: ['deploy/exec/nomad-list.sh', 'web'],
        timeoutMs: 30_000,
        pollIntervalMs: 5_000,
        cwd: '/srv/app',
        env: { NOMAD_ADDR: 'http://127.0.0.1:4646' },
      },
    );
    const config = parseConfig(
      readFileSync(join(deploy, 'luascale.yaml'), 'utf8'),
      'deploy/exec/luascale.yaml',
      {},
    );
    const exec = (
      config.services.web!.provider as { exec: { scale_command: string[]; list_command: string[] } }
    ).exec;
    for (const argv of [exec.scale_command, exec.list_command])
      assert.ok(existsSync(join(deploy, '..', '..', argv[0]!)), argv[0]);
  });

  it('nomad-scale.sh runs `nomad job scale -detach JOB GROUP COUNT`', async () => {
    const bin = join(root, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    const argsFile = join(root, 'nomad.args');
    writeFileSync(join(bin, 'nomad'), `#!/bin/sh\necho "$@" > ${argsFile}\n`);
    chmodSync(join(bin, 'nomad'), 0o755);
    await runCommand([join(deploy, 'nomad-scale.sh'), 'web', 'app', '4'], {
      service: 'web',
      timeoutMs: 5000,
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(readFileSync(argsFile, 'utf8').trim(), 'job scale -detach web app 4');
  });

  it('nomad-list.sh turns Nomad service registrations into targets (needs curl and jq)', async (t) => {
    try {
      execFileSync('sh', ['-c', 'command -v jq && command -v curl'], { stdio: 'ignore' });
    } catch {
      return t.skip('jq or curl not installed');
    }
    // GET /v1/service/:name as Nomad's HTTP API answers it (native service discovery).
    const nomad = createServer((req, res) => {
      assert.equal(req.url, '/v1/service/web');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify([
          { ServiceName: 'web', AllocID: 'a1b2', Address: '10.0.0.7', Port: 25001, Namespace: 'default' },
          { ServiceName: 'web', AllocID: 'c3d4', Address: '10.0.0.8', Port: 25002, Namespace: 'default' },
        ]),
      );
    });
    await new Promise<void>((r) => nomad.listen(0, '127.0.0.1', r));
    try {
      const { port } = nomad.address() as AddressInfo;
      const { stdout } = await runCommand([join(deploy, 'nomad-list.sh'), 'web'], {
        service: 'web',
        timeoutMs: 5000,
        env: { NOMAD_ADDR: `http://127.0.0.1:${port}` },
      });
      assert.deepEqual(parseTargets(stdout, { service: 'web', command: 'nomad-list.sh' }), [
        { id: 'a1b2', url: 'http://10.0.0.7:25001', ready: true },
        { id: 'c3d4', url: 'http://10.0.0.8:25002', ready: true },
      ]);
    } finally {
      nomad.close();
    }
  });

  it('every example script is executable and parses as POSIX sh', () => {
    for (const f of readdirSync(deploy).filter((x) => x.endsWith('.sh'))) {
      assert.ok(statSync(join(deploy, f)).mode & 0o111, `${f} is executable`);
      execFileSync('sh', ['-n', join(deploy, f)]);
    }
  });
});

/** Resolves true once `pid` is gone or a zombie, checking on each turn of the event loop (bounded). */
async function exitOf(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setImmediate(r));
  }
  return true;
}
